"""Property tests for POST /webhooks: whatever arrives, signed or not, nothing breaks or is lost."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select

from shopify_app.db import Database
from shopify_app.models import DeliveryStatus
from shopify_app.models import Shop
from shopify_app.models import WebhookDelivery
from tests.adversarial.support import scale
from tests.support.payloads import load_payload
from tests.support.shopify import API_SECRET
from tests.support.shopify import webhook_headers
from webhooks.handlers import HANDLERS
from webhooks.worker import drain

SHOP = "alpha.myshopify.com"
EXAMPLES = scale(60, 600)
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
SAMPLES = [
    "orders__create",
    "orders__updated",
    "checkouts__create",
    "customers__create",
    "refunds__create",
    "fulfillments__create",
    "customers__update",
    "shop__update",
]
TOPIC_OF = {name: name.replace("__", "/") for name in SAMPLES}
# Redaction topics erase the shop's stored deliveries by design; they are fuzzed everywhere else.
FUZZED_TOPICS = sorted(set(HANDLERS) - {"shop/redact", "customers/redact"})

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=30),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        ["", "0", "-1", "1e309", "9" * 60, "2026-13-45T99:99:99Z", "\u0000", "<script>", "NaN"]
    ),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def deeply_nested(depth: int) -> bytes:
    return b'{"id":' + b"[" * depth + b"1" + b"]" * depth + b"}"


@st.composite
def mutated_samples(draw: st.DrawFn) -> tuple[str, bytes]:
    """A real payload with wrong types or absurd values put into its known fields."""
    name = draw(st.sampled_from(SAMPLES))
    payload: dict[str, Any] = load_payload(name)
    for _ in range(draw(st.integers(1, 4))):
        field = draw(st.sampled_from(sorted(payload)))
        payload[field] = draw(json_values)
    body = json.dumps(payload, allow_nan=False).encode()
    return TOPIC_OF[name], body


@st.composite
def odd_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    topic = draw(
        st.one_of(
            st.sampled_from(FUZZED_TOPICS), st.text(alphabet=HEADER_SAFE, min_size=1, max_size=20)
        )
    )
    body = draw(
        st.one_of(
            st.binary(min_size=1, max_size=2048),
            json_values.map(lambda value: json.dumps(value).encode()),
            st.integers(100, 3000).map(deeply_nested),
            st.sampled_from(
                [
                    b"\xff\xfe{}",
                    '{"id": 1}'.encode("utf-16"),
                    b'{"id": 1e999}',
                    b'{"id": ' + b"9" * 5000 + b"}",
                    b"\x00" * 64,
                    b"[" * 100_000,
                ]
            ),
            st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
        )
    )
    return topic, body


# Header values an HTTP client can send: no line breaks (CR, LF, NEL, separators).
HEADER_SAFE = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))
latin1_text = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=255, blacklist_categories=("Cc",)),
    min_size=1,
    max_size=60,
)


@st.composite
def header_overrides(draw: st.DrawFn) -> dict[str, str]:
    """Odd but transportable header values: the HMAC still covers the body."""
    overrides = {}
    if draw(st.booleans()):
        overrides["X-Shopify-Triggered-At"] = draw(
            st.one_of(
                latin1_text,
                st.sampled_from(
                    [
                        "9999-12-31T23:59:59Z",
                        "0001-01-01T00:00:00Z",
                        "2026-03-29T02:30:00+01:00",
                        "1e10",
                        "",
                    ]
                ),
            )
        )
    if draw(st.booleans()):
        overrides["X-Shopify-API-Version"] = draw(latin1_text)
    if draw(st.booleans()):
        overrides["X-Shopify-Event-Id"] = draw(latin1_text)
    if draw(st.booleans()):
        overrides["Content-Type"] = draw(
            st.sampled_from(
                [
                    "text/plain",
                    "application/x-www-form-urlencoded",
                    "application/json; charset=latin1",
                ]
            )
        )
    return overrides


@pytest.fixture
def installed(make_shop: Callable[..., Shop]) -> Shop:
    return make_shop(SHOP)


def post(
    client: FlaskClient, topic: str, body: bytes, extra: dict[str, str], *, secret: str = API_SECRET
) -> tuple[int, str]:
    webhook_id = str(uuid.uuid4())
    headers = webhook_headers(topic, body, shop_domain=SHOP, secret=secret, webhook_id=webhook_id)
    headers.update(extra)
    return client.post("/webhooks", data=body, headers=headers).status_code, webhook_id


def stored(database: Database, webhook_id: str) -> WebhookDelivery | None:
    with database.session_scope() as session:
        return session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
        )


def test_signed_fuzzed_webhooks_never_fail_with_5xx_and_every_acknowledged_one_is_stored(
    client: FlaskClient, database: Database, installed: Shop
) -> None:
    acknowledged: list[str] = []

    @FUZZ_SETTINGS
    @given(request=st.one_of(mutated_samples(), odd_bodies()), extra=header_overrides())
    def check(request: tuple[str, bytes], extra: dict[str, str]) -> None:
        topic, body = request
        status, webhook_id = post(client, topic, body, extra)
        assert status < 500, (topic, body[:80], extra)
        if 200 <= status < 300:
            assert stored(database, webhook_id) is not None
            acknowledged.append(webhook_id)

    check()
    assert acknowledged

    drain(database, now=datetime.now(UTC))

    with database.session_scope() as session:
        deliveries = list(session.scalars(select(WebhookDelivery)))
    assert {delivery.webhook_id for delivery in deliveries} == set(acknowledged)
    for delivery in deliveries:
        assert delivery.status != DeliveryStatus.PROCESSING
        assert delivery.status != DeliveryStatus.PENDING
        if delivery.status in {DeliveryStatus.FAILED, DeliveryStatus.DEAD}:
            assert delivery.last_error
            assert "Traceback" not in delivery.last_error


def test_wrongly_signed_fuzzed_webhooks_are_never_acknowledged_or_stored(
    client: FlaskClient, database: Database, installed: Shop
) -> None:
    @FUZZ_SETTINGS
    @given(
        request=st.one_of(mutated_samples(), odd_bodies()),
        extra=header_overrides(),
        secret=st.one_of(st.just(""), st.text(min_size=1, max_size=40), st.just(API_SECRET[:-1])),
        hmac=st.one_of(st.none(), latin1_text, st.just("")),
    )
    def check(
        request: tuple[str, bytes], extra: dict[str, str], secret: str, hmac: str | None
    ) -> None:
        topic, body = request
        if hmac is not None:
            extra = {**extra, "X-Shopify-Hmac-Sha256": hmac}
        status, webhook_id = post(client, topic, body, extra, secret=secret or "x")
        assert not 200 <= status < 300, (topic, body[:80])
        assert status < 500
        assert stored(database, webhook_id) is None

    check()
