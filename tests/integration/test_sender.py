"""The sender sends each message at most once: crashes, retries, bounces, concurrent runs, DST."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.adapters.smtp import OutgoingEmail
from shopify_app.db import Database
from shopify_app.messaging import sender
from shopify_app.messaging.flows import abandoned_checkout
from shopify_app.messaging.flows import replenishment
from shopify_app.messaging.outbox import PlannedMessage
from shopify_app.messaging.outbox import plan_message
from shopify_app.models import Customer
from shopify_app.models import MessageStatus
from shopify_app.models import Shop
from tests.support import flows
from tests.support.mail import SmtpSink
from tests.support.settings import TEST_SETTINGS

pytestmark = pytest.mark.usefixtures("smtp")

REPO_ROOT = Path(__file__).resolve().parents[2]
FLOW = "abandoned_checkout"
T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
STEP_1 = T0 + timedelta(hours=1, minutes=1)


@pytest.fixture
def shop(make_flow_shop: Callable[..., Shop]) -> Shop:
    return make_flow_shop(FLOW, "replenishment", at=T0)


def abandon(
    database: Database, shop: Shop, n: int = 1, at: datetime = T0, customer_id: int = 7001
) -> str:
    email = f"buyer{n}@example.com"
    payload = flows.checkout_payload(
        f"tok-{n}", email=email, customer_id=customer_id + n, updated_at=at
    )
    flows.store_checkout(database, shop.id, payload, at)
    flows.subscribe(database, shop.id, customer_id + n, at)
    return email


def invoke_run_once(runner: FlaskCliRunner, now: datetime) -> int:
    return runner.invoke(args=["jobs", "run-once", "--now", now.isoformat()]).exit_code


def test_crash_between_sending_and_recording_never_resends_and_is_flagged_for_review(
    database: Database,
    shop: Shop,
    runner: FlaskCliRunner,
    smtp: SmtpSink,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    email = abandon(database, shop)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("process killed after the SMTP server accepted the email")

    monkeypatch.setattr(sender, "_record_sent", crash)
    assert invoke_run_once(runner, STEP_1) == 1  # the job reports the failure
    monkeypatch.undo()
    [message] = flows.messages(session, FLOW)
    assert message.status == MessageStatus.CLAIMED

    flows.run_once(runner, STEP_1 + timedelta(minutes=1))
    flows.run_once(runner, STEP_1 + timedelta(minutes=20))

    assert len(smtp.to(email)) == 1
    [message] = flows.messages(session, FLOW)
    assert (message.status, message.status_reason) == (MessageStatus.NEEDS_REVIEW, "claim_expired")
    review = runner.invoke(args=["jobs", "needs-review"])
    assert f"{message.id}\talpha.myshopify.com\tabandoned_checkout" in review.output


def test_temporary_smtp_failure_is_retried_with_backoff(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    email = abandon(database, shop)
    smtp.refuse[email] = "451 4.3.0 try again later"

    flows.run_once(runner, STEP_1)
    [message] = flows.messages(session, FLOW)
    assert (message.status, message.attempts) == (MessageStatus.DEFERRED, 1)
    assert message.due_at == STEP_1 + timedelta(minutes=5)

    del smtp.refuse[email]
    flows.run_once(runner, STEP_1 + timedelta(minutes=2))
    assert smtp.messages == []
    flows.run_once(runner, STEP_1 + timedelta(minutes=6))

    assert len(smtp.to(email)) == 1
    assert flows.messages(session, FLOW)[0].status == MessageStatus.SENT


def test_permanent_smtp_failure_marks_the_address_bounced_and_stops_later_mail(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    email = abandon(database, shop)
    smtp.refuse[email] = "550 5.1.1 no such mailbox"

    flows.run_once(runner, STEP_1)
    del smtp.refuse[email]
    flows.run_once(runner, T0 + timedelta(hours=24, minutes=5))

    assert smtp.messages == []
    first, second = flows.messages(session, FLOW)
    assert (first.status, first.status_reason) == (MessageStatus.FAILED, "smtp_550")
    assert (second.status, second.status_reason) == (MessageStatus.SUPPRESSED, "bounced")
    customer = session.scalar(select(Customer).where(Customer.email == email))
    assert customer is not None
    assert customer.email_bounced_at == STEP_1


def test_two_run_once_processes_at_the_same_time_send_each_message_once(
    database: Database, database_url: str, shop: Shop, smtp: SmtpSink, session: Session
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent claiming with SKIP LOCKED is a PostgreSQL property")
    emails = [abandon(database, shop, n) for n in range(1, 11)]
    env = {
        **os.environ,
        **{key: str(value) for key, value in TEST_SETTINGS.items()},
        "DATABASE_URL": database_url,
        "SMTP_URL": smtp.url,
        "TESTING": "true",
    }
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "shopify_app",
        "jobs",
        "run-once",
        "--now",
        STEP_1.isoformat(),
    ]
    processes = [
        subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    assert [p.returncode for p in processes] == [0, 0], outputs
    received = sorted(str(m["To"]) for m in smtp.messages)
    assert received == sorted(emails)
    assert {m.status for m in flows.messages(session, FLOW)} == {MessageStatus.SENT}


class MeetingMailer:
    """Record sends; each sender's first send waits until the other is mid-send too."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.barrier = threading.Barrier(2, timeout=30)
        self.local = threading.local()
        self.lock = threading.Lock()

    def send(self, email: OutgoingEmail) -> str:
        if not getattr(self.local, "met", False):
            self.local.met = True
            self.barrier.wait()  # both senders hold a claimed message at this moment
        with self.lock:
            self.sent.append(email.to)
        return "<id@test>"


def test_two_senders_sending_at_the_same_moment_never_take_the_same_message(
    database: Database, database_url: str, shop: Shop, session: Session
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent claiming with SKIP LOCKED is a PostgreSQL property")
    emails = [abandon(database, shop, n) for n in range(1, 9)]
    with database.session_scope() as work:
        assert abandoned_checkout.plan(work, shop_id=shop.id, now=STEP_1) == len(emails)
    mailer = MeetingMailer()
    config = sender.SenderConfig(
        mail_from="retention@example.com",
        app_url="https://retention.example.com",
        secret_key="test-secret-key-that-is-long-enough-000",
        batch_size=1,
    )
    reports: list[sender.SendReport] = []

    def run() -> None:
        reports.append(
            sender.send_due_messages(
                database.session_factory, now=STEP_1, mailer=mailer, config=config
            )
        )

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(mailer.sent) == sorted(emails)
    assert sorted(r.sent for r in reports) != [0, len(emails)]  # both senders did some of it
    assert sum(r.sent for r in reports) == len(emails)


def test_quiet_hours_defer_to_eight_local_across_the_spring_dst_change(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    with database.session_scope() as work:
        stored = work.get(Shop, shop.id)
        assert stored is not None
        stored.iana_timezone = "America/New_York"
    evening = datetime(2026, 3, 8, 1, 30, tzinfo=UTC)  # 20:30 EST on Saturday, March 7
    email = abandon(database, shop, at=evening)

    flows.run_once(runner, evening + timedelta(hours=1, minutes=5))  # 21:35 EST: quiet
    [message] = flows.messages(session, FLOW)
    assert message.status == MessageStatus.DEFERRED
    assert message.due_at == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT, not 13:00 UTC

    flows.run_once(runner, datetime(2026, 3, 8, 11, 59, tzinfo=UTC))
    assert smtp.messages == []
    flows.run_once(runner, datetime(2026, 3, 8, 12, 0, tzinfo=UTC))
    assert len(smtp.to(email)) == 1


def test_frequency_cap_defers_the_next_marketing_email_and_then_respects_quiet_hours(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    with database.session_scope() as work:
        stored = work.get(Shop, shop.id)
        assert stored is not None
        stored.iana_timezone = "America/New_York"
    morning = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT, the first day of DST
    email = abandon(database, shop, at=morning)
    flows.run_once(runner, morning + timedelta(hours=1))  # checkout reminder goes out at 13:00Z
    customer_id = session.scalar(select(Customer.id).where(Customer.email == email))
    session.commit()  # end the read: SQLite would keep its write lock
    reminder_order = flows.order_payload(
        555,
        email="someone-else@example.com",
        processed_at=morning - timedelta(days=40),
        lines=[{"product_id": 501, "variant_id": 5011, "title": "Beans", "quantity": 1}],
    )
    flows.store_order(database, shop.id, reminder_order, morning)
    with database.session_scope() as work:
        planned = PlannedMessage(
            flow=replenishment.FLOW,
            step=1,
            dedupe_key="replenishment:test",
            email=email,
            customer_id=customer_id,
            due_at=morning + timedelta(hours=2),
            order_id=_order_id(work, 555),
            context={"product": {"id": 501, "title": "Beans"}},
        )
        assert plan_message(work, shop_id=shop.id, message=planned, holdout_share=0, now=morning)

    flows.run_once(runner, morning + timedelta(hours=2, minutes=1))
    capped = next(m for m in flows.messages(session) if m.flow == "replenishment")
    assert (capped.status, capped.status_reason) == (MessageStatus.DEFERRED, "frequency_cap")
    assert capped.due_at == morning + timedelta(hours=1 + 16)  # 01:00 EDT: inside quiet hours

    flows.run_once(runner, capped.due_at)
    deferred = next(m for m in flows.messages(session) if m.flow == "replenishment")
    assert (deferred.status_reason, deferred.due_at) == (
        "quiet_hours",
        datetime(2026, 3, 9, 12, 0, tzinfo=UTC),
    )
    flows.run_once(runner, datetime(2026, 3, 9, 12, 0, tzinfo=UTC))
    assert len(smtp.to(email)) == 2


def test_checkout_reminder_wins_over_a_replenishment_due_at_the_same_time(
    database: Database, shop: Shop, runner: FlaskCliRunner, smtp: SmtpSink, session: Session
) -> None:
    email = abandon(database, shop)
    with database.session_scope() as work:
        assert abandoned_checkout.plan(work, shop_id=shop.id, now=STEP_1) == 1
    order = flows.order_payload(
        556,
        email="other@example.com",
        processed_at=T0 - timedelta(days=40),
        lines=[{"product_id": 501, "variant_id": 5011, "title": "Beans", "quantity": 1}],
    )
    flows.store_order(database, shop.id, order, T0)
    customer_id = session.scalar(select(Customer.id).where(Customer.email == email))
    session.commit()  # end the read: SQLite would keep its write lock
    with database.session_scope() as work:
        planned = PlannedMessage(
            flow=replenishment.FLOW,
            step=1,
            dedupe_key="replenishment:same-time",
            email=email,
            customer_id=customer_id,
            due_at=T0 + timedelta(minutes=30),
            order_id=_order_id(work, 556),
            context={"product": {"id": 501, "title": "Beans"}},
        )
        plan_message(work, shop_id=shop.id, message=planned, holdout_share=0, now=T0)

    flows.run_once(runner, STEP_1)

    [sent] = smtp.to(email)
    assert "cart" in str(sent["Subject"]).lower()
    statuses = {m.flow: m.status for m in flows.messages(session)}
    assert statuses == {FLOW: MessageStatus.SENT, "replenishment": MessageStatus.DEFERRED}


def _order_id(session: Session, shopify_id: int) -> int:
    from shopify_app.models import Order

    order_id = session.scalar(select(Order.id).where(Order.shopify_id == shopify_id))
    assert order_id is not None
    return order_id
