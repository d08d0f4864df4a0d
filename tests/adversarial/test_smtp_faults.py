"""SMTP servers that refuse, stall or hang up: messages are retried or failed, never duplicated."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from sqlalchemy.orm import Session

from shopify_app.adapters.smtp import SMTPMailer
from shopify_app.db import Database
from shopify_app.messaging.flows import abandoned_checkout
from shopify_app.messaging.sender import SenderConfig
from shopify_app.messaging.sender import send_due_messages
from shopify_app.models import MessageStatus
from shopify_app.models import Shop
from tests.support import flows
from tests.support.mail import SmtpSink
from tests.support.mail import free_port
from tests.support.settings import TEST_SETTINGS

FLOW = "abandoned_checkout"
T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
DUE = T0 + timedelta(hours=1, minutes=5)
CONFIG = SenderConfig(
    mail_from="retention@example.com",
    app_url=TEST_SETTINGS["APP_URL"],
    secret_key=TEST_SETTINGS["SECRET_KEY"],
)


class HangUpAfterAccepting(SMTP):
    """Accept the message with 250, then answer QUIT with 421 and drop the line."""

    async def smtp_QUIT(self, arg: str) -> None:  # aiosmtpd's hook name
        await self.push("421 4.3.0 closing the line")
        self.transport.close()


class Server:
    def __init__(self, sink: SmtpSink, server_class: type[SMTP] = SMTP) -> None:
        self.sink = sink
        server = server_class

        class Misbehaving(Controller):
            def factory(self) -> SMTP:
                return server(self.handler)

        self.controller = Misbehaving(sink, hostname="127.0.0.1", port=sink.port)


@pytest.fixture
def shop(make_flow_shop: Callable[..., Shop]) -> Shop:
    return make_flow_shop(FLOW, at=T0)


@pytest.fixture
def planned(database: Database, shop: Shop) -> None:
    """One abandoned checkout whose first reminder is due at DUE (planned, not sent)."""
    payload = flows.checkout_payload(
        "tok-s", email="ada@example.com", customer_id=9101, updated_at=T0
    )
    flows.store_checkout(database, shop.id, payload, T0)
    flows.subscribe(database, shop.id, 9101, T0)


def send(database: Database, url: str, now: datetime, *, timeout: float = 5.0) -> Any:
    return send_due_messages(
        database.session_factory,
        now=now,
        shop_id=None,
        mailer=SMTPMailer(url, timeout=timeout),
        config=CONFIG,
    )


def plan(database: Database, shop: Shop) -> None:
    with database.session_scope() as session:
        assert abandoned_checkout.plan(session, shop_id=shop.id, now=DUE) == 1


@pytest.fixture
def stalled_port() -> Iterator[int]:
    """A server that accepts TCP connections and never says a word."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    listener.close()


def test_server_that_accepts_then_hangs_up_on_quit_gets_the_email_exactly_once(
    database: Database, planned: None, shop: Shop, session: Session
) -> None:
    plan(database, shop)
    sink = SmtpSink(port=free_port())
    server = Server(sink, HangUpAfterAccepting)
    server.controller.start()
    try:
        send(database, sink.url, DUE)
        send(database, sink.url, DUE + timedelta(hours=2))
    finally:
        server.controller.stop()

    assert len(sink.messages) == 1
    [message] = flows.messages(session, FLOW)
    assert message.status == MessageStatus.SENT


def test_server_that_stalls_times_out_and_the_message_is_retried_later_once(
    database: Database,
    planned: None,
    shop: Shop,
    session: Session,
    stalled_port: int,
) -> None:
    plan(database, shop)
    send(database, f"smtp://127.0.0.1:{stalled_port}", DUE, timeout=0.5)
    [message] = flows.messages(session, FLOW)
    assert message.status == MessageStatus.DEFERRED

    sink = SmtpSink(port=free_port())
    server = Server(sink)
    server.controller.start()
    try:
        send(database, sink.url, DUE + timedelta(minutes=1))  # not due yet: backoff
        assert sink.messages == []
        send(database, sink.url, DUE + timedelta(hours=1))
        send(database, sink.url, DUE + timedelta(hours=5))
    finally:
        server.controller.stop()

    assert len(sink.messages) == 1
    [message] = flows.messages(session, FLOW)
    assert message.status == MessageStatus.SENT


def test_server_refusing_temporarily_then_permanently_defers_then_fails_without_sending(
    database: Database, planned: None, shop: Shop, session: Session
) -> None:
    plan(database, shop)
    sink = SmtpSink(port=free_port(), refuse={"ada@example.com": "451 4.7.1 try later"})
    server = Server(sink)
    server.controller.start()
    try:
        send(database, sink.url, DUE)
        [message] = flows.messages(session, FLOW)
        assert message.status == MessageStatus.DEFERRED
        sink.refuse["ada@example.com"] = "550 5.1.1 no such user"
        send(database, sink.url, DUE + timedelta(hours=6))
    finally:
        server.controller.stop()

    assert sink.messages == []
    [message] = flows.messages(session, FLOW)
    assert message.status == MessageStatus.FAILED
