"""GET /api/webhooks/problems and POST /api/webhooks/problems/<id>/replay: the shop's stuck inbox.

A delivery the worker could not process is kept, never dropped: it is retried with backoff
(failing) and then dead-lettered (dead). The merchant sees both here, for the shop of the session
token only, without the payload, and can queue a dead one again once its cause is fixed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs import tasks
from shopify_app.db import get_session
from shopify_app.models import DeliveryStatus
from shopify_app.models import WebhookDelivery
from shopify_app.web.auth.session_guard import current_shop
from webhooks import inbox
from webhooks import worker

bp = Blueprint("webhook_problems_api", __name__, url_prefix="/webhooks")

FAILING_AFTER_ATTEMPTS = 3
"""A failed delivery is listed once it has failed this often: the first retries are routine (a
refund or fulfillment that arrived before its order is retried until the order is there)."""
MAX_LISTED = 100
_MAX_ID = 2**63 - 1


def list_problems(
    session: Session, *, shop_domain: str, limit: int = MAX_LISTED
) -> list[WebhookDelivery]:
    """Return the shop's dead-lettered and repeatedly failing deliveries, newest first."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.shop_domain == shop_domain,
                (WebhookDelivery.status == DeliveryStatus.DEAD)
                | (
                    (WebhookDelivery.status == DeliveryStatus.FAILED)
                    & (WebhookDelivery.attempts >= FAILING_AFTER_ATTEMPTS)
                ),
            )
            .order_by(WebhookDelivery.received_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def replay_problem(session: Session, *, shop_domain: str, delivery_id: int) -> WebhookDelivery:
    """Queue one of the shop's dead deliveries again; another shop's id is not found."""
    delivery = session.get(WebhookDelivery, delivery_id) if 0 < delivery_id <= _MAX_ID else None
    if delivery is None or delivery.shop_domain != shop_domain:
        raise inbox.DeliveryNotFound(f"No webhook delivery with id {delivery_id} for this shop")
    return inbox.replay(session, delivery_id=delivery_id)


def _problem(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "topic": delivery.topic,
        "received_at": delivery.received_at.isoformat(),
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "status": delivery.status.value,
    }


@bp.get("/problems")
def show_problems() -> Response:
    problems = list_problems(get_session(), shop_domain=current_shop().domain)
    return jsonify({"problems": [_problem(delivery) for delivery in problems]})


@bp.post("/problems/<int:delivery_id>/replay")
def replay(delivery_id: int) -> Response:
    session = get_session()
    shop_domain = current_shop().domain
    delivery = replay_problem(session, shop_domain=shop_domain, delivery_id=delivery_id)
    answer = _problem(delivery)
    session.commit()
    # After the commit, like a new delivery: wake the embedded worker or have the queue drain it.
    worker.wake_background_worker(current_app)
    tasks.enqueue_drain(current_app, shop_domain)
    return jsonify(answer)
