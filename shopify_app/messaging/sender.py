"""The one sender: claim due messages, decide, send, record. At most once per message.

How "at most once" holds:
1. Claiming (`claims`) takes due rows with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite
   serialises writers with BEGIN IMMEDIATE), decides each one and commits `claimed` before any
   SMTP call. A second sender never sees a claimed row as due.
2. Right before the SMTP call the message is re-read and the flow's exit check runs again.
3. After the SMTP server accepted the email, `sent` is recorded in its own transaction. If the
   process dies in between, the row stays `claimed`: it is never sent again automatically, and
   after `claim_timeout` it is marked `needs_review` for an operator.
Temporary SMTP failures are known not to have delivered, so they go back to `deferred` with
exponential backoff; permanent (5xx) ones fail the message and mark the address bounced.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from shopify_app.adapters.smtp import Mailer
from shopify_app.adapters.smtp import MailError
from shopify_app.adapters.smtp import OutgoingEmail
from shopify_app.messaging import rules
from shopify_app.messaging.claims import claim_due_messages
from shopify_app.messaging.flows import FLOWS
from shopify_app.messaging.outbox import suppress_recipient
from shopify_app.messaging.templates import TemplateOverride
from shopify_app.messaging.templates import TemplateRenderError
from shopify_app.messaging.templates import render_message
from shopify_app.messaging.unsubscribe import unsubscribe_url
from shopify_app.models import Customer
from shopify_app.models import Message
from shopify_app.models import MessageStatus
from shopify_app.models import Shop

logger = logging.getLogger(__name__)

OverrideLoader = Callable[[Session, int, str, int], TemplateOverride | None]
"""`loader(session, shop_id, flow, step)`: the merchant's saved template, if any."""


@dataclass(frozen=True)
class SenderConfig:
    mail_from: str
    app_url: str
    secret_key: str
    claim_timeout: timedelta = timedelta(minutes=15)
    batch_size: int = 100
    max_batches: int = 50
    max_attempts: int = 5
    retry_base: timedelta = timedelta(minutes=5)


@dataclass
class SendReport:
    sent: int = 0
    held_out: int = 0
    suppressed: int = 0
    deferred: int = 0
    cancelled: int = 0
    failed: int = 0
    needs_review: int = 0
    retried: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.sent + self.held_out + self.suppressed + self.cancelled + self.failed


def send_due_messages(
    session_factory: sessionmaker[Session],
    *,
    now: datetime,
    mailer: Mailer,
    config: SenderConfig,
    shop_id: int | None = None,
    override_loader: OverrideLoader | None = None,
) -> SendReport:
    """Send every message due at *now* (for one shop, or all), each at most once."""
    report = SendReport()
    with session_factory() as session, session.begin():
        report.needs_review = flag_stale_claims(
            session, now=now, timeout=config.claim_timeout, shop_id=shop_id
        )
    for _ in range(config.max_batches):
        with session_factory() as session, session.begin():
            batch = claim_due_messages(session, now=now, shop_id=shop_id, limit=config.batch_size)
        for outcome, count in batch.settled.items():
            setattr(report, outcome, getattr(report, outcome) + count)
        for message_id in batch.claimed:
            _deliver(
                session_factory,
                message_id,
                now=now,
                mailer=mailer,
                config=config,
                report=report,
                override_loader=override_loader,
            )
        if batch.due < config.batch_size:
            break
    return report


def flag_stale_claims(
    session: Session, *, now: datetime, timeout: timedelta, shop_id: int | None = None
) -> int:
    """Mark claims older than *timeout* as needs_review: they may have been sent; never resend."""
    statement = (
        update(Message)
        .where(Message.status == MessageStatus.CLAIMED, Message.claimed_at < now - timeout)
        .values(
            status=MessageStatus.NEEDS_REVIEW,
            status_reason="claim_expired",
            last_error="the sender stopped between claiming and recording; check the mail log",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if shop_id is not None:
        statement = statement.where(Message.shop_id == shop_id)
    count = int(session.execute(statement).rowcount)  # type: ignore[attr-defined]
    if count:
        logger.warning("Marked %d stale claimed messages for review", count)
    return count


def _deliver(
    session_factory: sessionmaker[Session],
    message_id: int,
    *,
    now: datetime,
    mailer: Mailer,
    config: SenderConfig,
    report: SendReport,
    override_loader: OverrideLoader | None,
) -> None:
    with session_factory() as session, session.begin():
        message = session.get(Message, message_id)
        if message is None or message.status != MessageStatus.CLAIMED:
            return
        flow = FLOWS[message.flow]
        customer = session.get(Customer, message.customer_id) if message.customer_id else None
        reason = flow.exit_reason(session, message, now) or _hard_block(session, message, customer)
        if reason:
            message.status = MessageStatus.CANCELLED
            message.status_reason = reason
            report.cancelled += 1
            return
        shop = session.get(Shop, message.shop_id)
        assert shop is not None
        try:
            email = _compose(session, message, shop, customer, config, override_loader)
        except TemplateRenderError as exc:
            message.status = MessageStatus.FAILED
            message.status_reason = "render_error"
            message.last_error = str(exc)[:2000]
            report.failed += 1
            return
    try:
        mailer.send(email)
    except MailError as exc:
        _record_failure(session_factory, message_id, exc, now=now, config=config, report=report)
        return
    _record_sent(session_factory, message_id, now=now)
    report.sent += 1


def _hard_block(session: Session, message: Message, customer: Customer | None) -> str | None:
    return rules.suppression_reason(
        session,
        shop_id=message.shop_id,
        customer=customer,
        email=message.email,
        is_marketing=False,
    )


def _compose(
    session: Session,
    message: Message,
    shop: Shop,
    customer: Customer | None,
    config: SenderConfig,
    override_loader: OverrideLoader | None,
) -> OutgoingEmail:
    """Render *message* with its flow's template, or the merchant's; raise TemplateRenderError."""
    flow = FLOWS[message.flow]
    link = unsubscribe_url(message, app_url=config.app_url, secret_key=config.secret_key)
    context: dict[str, Any] = {
        "recipient": {"first_name": customer.first_name if customer else None},
        **(message.context or {}),
        "shop": {"name": shop.name or shop.domain, "email": shop.email, "domain": shop.domain},
        "step": message.step,
        "unsubscribe_url": link,
    }
    if flow.send_context is not None:
        context.update(
            flow.send_context(
                session, message, app_url=config.app_url, secret_key=config.secret_key
            )
        )
    override = (
        override_loader(session, shop.id, message.flow, message.step) if override_loader else None
    )
    rendered = render_message(flow.template, context, override=override)
    message.subject = rendered.subject
    assert message.email is not None
    return OutgoingEmail(
        to=message.email,
        from_address=config.mail_from,
        from_name=shop.name or shop.domain,
        reply_to=shop.email,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        unsubscribe_url=link,
        headers={"X-Retention-Message": str(message.id)},
    )


def _record_sent(session_factory: sessionmaker[Session], message_id: int, *, now: datetime) -> None:
    with session_factory() as session, session.begin():
        session.execute(
            update(Message)
            .where(Message.id == message_id, Message.status == MessageStatus.CLAIMED)
            .values(status=MessageStatus.SENT, sent_at=now, last_error=None, updated_at=now)
        )


def _record_failure(
    session_factory: sessionmaker[Session],
    message_id: int,
    error: MailError,
    *,
    now: datetime,
    config: SenderConfig,
    report: SendReport,
) -> None:
    with session_factory() as session, session.begin():
        message = session.get(Message, message_id)
        if message is None:
            return
        message.last_error = str(error)[:2000]
        message.updated_at = now
        if error.is_permanent:
            message.status = MessageStatus.FAILED
            message.status_reason = f"smtp_{error.code}" if error.code else "smtp_permanent"
            report.failed += 1
            if error.is_recipient_problem and message.email:
                _mark_bounced(session, message, now=now)
            logger.warning("Permanent SMTP failure for message %d (%s)", message_id, error.code)
            return
        if message.attempts >= config.max_attempts:
            message.status = MessageStatus.FAILED
            message.status_reason = "retries_exhausted"
            report.failed += 1
            return
        message.status = MessageStatus.DEFERRED
        message.status_reason = "smtp_retry"
        message.due_at = now + config.retry_base * (2 ** max(message.attempts - 1, 0))
        report.retried += 1
        logger.info("Temporary SMTP failure for message %d; retrying later", message_id)


def _mark_bounced(session: Session, message: Message, *, now: datetime) -> None:
    if message.customer_id is not None:
        customer = session.get(Customer, message.customer_id)
        if customer is not None and customer.email_bounced_at is None:
            customer.email_bounced_at = now
    suppress_recipient(session, message=message, reason="bounced", now=now, marketing_only=False)
