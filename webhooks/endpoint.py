"""POST /webhooks: verify the raw request, store it in the inbox, acknowledge with 200.

Every topic arrives here, the mandatory compliance topics (`customers/data_request`,
`customers/redact`, `shop/redact`) included; the topic comes from `X-Shopify-Topic`. The answer is
given after the delivery is committed and before any processing, which the worker does later.

Statuses: 200 stored (or already stored: a repeated `X-Shopify-Webhook-Id` is acknowledged and kept
once); 400 missing or malformed headers or an empty body; 401 HMAC mismatch; 405 any method but
POST; 413 a body over `WEBHOOK_MAX_BODY_BYTES` (default 1 MiB). Nothing is stored for a refused
request. Unknown topics and shops that are not (or no longer) installed are stored and acknowledged.
"""

from __future__ import annotations

import logging

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from jobs import tasks
from shopify_app.context import get_settings
from shopify_app.db import get_session
from shopify_app.models import utcnow
from shopify_app.web.errors import error_response
from webhooks import inbox
from webhooks import worker
from webhooks.handlers import HANDLERS
from webhooks.verification import ALLOWED_METHOD
from webhooks.verification import SHOP_DOMAIN_HEADER
from webhooks.verification import TOPIC_HEADER
from webhooks.verification import Rejection
from webhooks.verification import RejectionReason
from webhooks.verification import verify_webhook

logger = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

# Other methods are routed here too, so the one reason -> status table also answers them.
_ROUTED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.before_app_request
def start_background_worker() -> None:
    """Start the embedded inbox worker with the first request the app serves."""
    worker.start_background_worker(current_app)


@bp.route("/webhooks", methods=_ROUTED_METHODS)
def receive_webhook() -> Response:
    """Store a verified delivery durably, then acknowledge it; processing happens later."""
    settings = get_settings()
    verified = verify_webhook(
        request, secrets=settings.api_secrets, max_body_bytes=settings.webhook_max_body_bytes
    )
    if isinstance(verified, Rejection):
        return _refuse(verified)

    session = get_session()
    delivery_id = inbox.record_delivery(
        session, envelope=verified, now=utcnow(), handled_topics=HANDLERS
    )
    session.commit()
    extra = {"shop": verified.shop_domain, "topic": verified.topic}
    if delivery_id is None:
        logger.info("Acknowledged a repeated webhook delivery without storing it", extra=extra)
        return jsonify({"status": "duplicate"})
    logger.debug("Stored webhook delivery %d", delivery_id, extra=extra)
    worker.wake_background_worker(current_app)
    # After the commit, and only the shop: a failed enqueue is logged, never refused to Shopify.
    tasks.enqueue_drain(current_app, verified.shop_domain)
    return jsonify({"status": "stored"})


def _refuse(rejection: Rejection) -> Response:
    # Header values come from an unauthenticated client: log them quoted and cut short.
    logger.warning(
        "Refused a webhook request (%s): shop %.100r, topic %.100r",
        rejection.reason.value,
        request.headers.get(SHOP_DOMAIN_HEADER, ""),
        request.headers.get(TOPIC_HEADER, ""),
    )
    headers = (
        {"Allow": ALLOWED_METHOD}
        if rejection.reason is RejectionReason.METHOD_NOT_ALLOWED
        else None
    )
    return error_response(rejection.message, rejection.status_code, headers)
