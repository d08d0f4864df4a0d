"""Each topic's schema accepts and refuses payloads as pinned here, and keeps what it does not know.

The pins were recorded from the marshmallow schemas that msgspec replaced: `VALUES` says which
values each kind of field takes, `FIELDS` which field of which topic is of which kind and
required. A value whose `note` is set is one where msgspec deliberately decides otherwise than
marshmallow did; the note says why. Hypothesis mutates the sample payloads of tests/fixtures
(several fields at once, plus unknown fields anywhere): `parse_payload` must refuse exactly when a
mutated value is refused by its field or a cross-field rule fails, and hand an accepted payload
over as it was sent.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.support.payloads import load_payload
from webhooks.processing import InvalidPayload
from webhooks.processing import parse_payload
from webhooks.schemas import SCHEMAS

MISSING = object()
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Value:
    json: Any
    accepted: bool
    note: str = ""


NOT_RFC3339 = "not RFC 3339; marshmallow's looser pattern took it, Shopify never sends it"
VALUES: dict[str, list[Value]] = {
    # Strict: a float id has lost digits already (ids exceed 2**53); "12" and true are no ids.
    "integer": [
        *(Value(v, True) for v in (0, 7, -5, 2**53 + 1, 2**63, 2**70)),
        *(Value(v, False) for v in (1.0, 1.5, 8.209829119461545e17, "12", "", True, False, [], {})),
    ],
    "money": [
        *(Value(v, True) for v in ("12.34", "-3.50", "0", 12.34, 12, 0, "1e5", " 12.30 ", "+1.0")),
        *(Value(v, False) for v in ("garbage", "", "NaN", "Infinity", "-inf", "0x10", True, [])),
        Value(float("nan"), False),  # the JSON parser reads NaN and Infinity literals
        Value(float("inf"), False),
    ],
    "time": [
        Value("2024-01-01T10:00:00Z", True),
        Value("2024-01-01T10:00:00-05:00", True),
        Value("2024-01-01T10:00:00", True),  # naive: the handlers read it as UTC
        Value("2024-01-01 10:00:00+01:00", True),
        Value("2024-01-01T10:00:00.123456+00:00", True),
        Value("2024-01-01T10:00:00.1234567Z", True),
        Value("2024-01-01T10:00:00+0500", True),
        *(Value(v, False) for v in ("2024-01-01", "garbage", "", 1700000000, True, [])),
        Value("2024-02-30T10:00:00Z", False),
        Value("2024-01-01T24:00:00Z", False),
        Value("2024-01-01T10:00Z", False, note=NOT_RFC3339),
        Value("2024-1-1T10:00:00Z", False, note=NOT_RFC3339),
        Value("2024-01-01T10:00:00+05", False, note=NOT_RFC3339),
        Value("2024-01-01t10:00:00z", True, note="RFC 3339 allows lower case; handlers read it"),
    ],
    "flag": [
        *(Value(v, True) for v in (True, False)),
        *(Value(v, False) for v in (2, "", "maybe", [])),
        *(
            Value(v, False, note="marshmallow read it as a flag; handlers take bool() of it raw")
            for v in ("true", "false", "yes", 1, 0)
        ),
    ],
    "text": [
        *(Value(v, True) for v in ("x", "", "é")),
        *(Value(v, False) for v in (1, 1.5, True, [], {})),
    ],
    "object": [Value({}, True), *(Value(v, False) for v in ("x", 1, [], True))],
    "list": [Value([], True), *(Value(v, False) for v in ("x", 1, {}, True))],
}


@dataclass(frozen=True)
class Field:
    path: Path
    kind: str
    required: bool = False


def F(*path: str | int, kind: str, required: bool = False) -> Field:
    return Field(path, kind, required)


def money_set(*at: str | int) -> list[Field]:
    """A `*_set` object: the amount in the shop's currency and its currency."""
    return [
        F(*at, kind="object"),
        F(*at, "shop_money", kind="object"),
        F(*at, "shop_money", "amount", kind="money"),
        F(*at, "shop_money", "currency_code", kind="text"),
    ]


def customer(*at: str | int, times: bool = True, required: bool = False) -> list[Field]:
    fields = [F(*at, kind="object", required=required), F(*at, "id", kind="integer")]
    fields += [F(*at, name, kind="text") for name in ("email", "phone")]
    if times:
        fields += [F(*at, name, kind="time") for name in ("created_at", "updated_at")]
    return fields


def refund(*at: str | int, order_id_required: bool) -> list[Field]:
    return [
        F(*at, "id", kind="integer", required=True),
        F(*at, "order_id", kind="integer", required=order_id_required),
        *(F(*at, name, kind="time") for name in ("created_at", "processed_at")),
        F(*at, "refund_line_items", kind="list"),
        F(*at, "refund_line_items", 0, kind="object", required=True),
        F(*at, "refund_line_items", 0, "line_item_id", kind="integer", required=True),
        F(*at, "refund_line_items", 0, "quantity", kind="integer"),
        F(*at, "refund_line_items", 0, "subtotal", kind="money"),
        *money_set(*at, "refund_line_items", 0, "subtotal_set"),
        F(*at, "transactions", kind="list"),
        F(*at, "transactions", 0, kind="object", required=True),
        *(F(*at, "transactions", 0, name, kind="text") for name in ("kind", "status")),
        F(*at, "transactions", 0, "amount", kind="money"),
    ]


def fulfillment(*at: str | int, order_id_required: bool) -> list[Field]:
    return [
        F(*at, "id", kind="integer", required=True),
        F(*at, "order_id", kind="integer", required=order_id_required),
        *(F(*at, name, kind="text") for name in ("status", "shipment_status")),
        *(F(*at, name, kind="time") for name in ("created_at", "updated_at")),
    ]


ORDER = [
    F("id", kind="integer", required=True),
    *(F(name, kind="time") for name in ("created_at", "updated_at", "processed_at")),
    F("cancelled_at", kind="time"),
    F("test", kind="flag"),
    *(
        field
        for total in ("total_price", "subtotal_price", "total_discounts", "total_tax")
        for field in (F(total, kind="money"), *money_set(f"{total}_set"))
    ),
    F("checkout_token", kind="text"),
    *customer("customer"),
    F("line_items", kind="list"),
    F("line_items", 0, kind="object", required=True),
    F("line_items", 0, "id", kind="integer", required=True),
    *(F("line_items", 0, name, kind="integer") for name in ("product_id", "variant_id")),
    F("line_items", 0, "quantity", kind="integer"),
    F("line_items", 0, "price", kind="money"),
    *money_set("line_items", 0, "price_set"),
    F("refunds", kind="list"),
    F("refunds", 0, kind="object", required=True),
    *refund("refunds", 0, order_id_required=False),
    F("fulfillments", kind="list"),
    F("fulfillments", 0, kind="object", required=True),
    *fulfillment("fulfillments", 0, order_id_required=False),
]
CHECKOUT = [
    F("token", kind="text", required=True),
    *(F(name, kind="text") for name in ("cart_token", "email")),
    *(F(name, kind="time") for name in ("created_at", "updated_at", "completed_at")),
    F("buyer_accepts_marketing", kind="flag"),
    *(F(name, kind="money") for name in ("total_price", "subtotal_price")),
    *customer("customer"),
    F("line_items", kind="list"),
    F("line_items", 0, kind="object", required=True),
    *(F("line_items", 0, name, kind="integer") for name in ("product_id", "variant_id")),
    F("line_items", 0, "quantity", kind="integer"),
    F("line_items", 0, "price", kind="money"),
]
CUSTOMER = [
    F("id", kind="integer", required=True),
    *(F(name, kind="text") for name in ("email", "phone", "first_name", "last_name")),
    *(F(name, kind="time") for name in ("created_at", "updated_at")),
    F("email_marketing_consent", kind="object"),
]
CONSENT_UPDATE = [
    F("customer_id", kind="integer", required=True),
    F("email_address", kind="text"),
    F("email_marketing_consent", kind="object", required=True),
    *(F("email_marketing_consent", name, kind="text") for name in ("state", "opt_in_level")),
    F("email_marketing_consent", "consent_updated_at", kind="time"),
]
SHOP = [
    F("id", kind="integer"),
    *(F(name, kind="text") for name in ("name", "email", "currency", "iana_timezone")),
    F("updated_at", kind="time"),
]
SHOP_REQUEST = [F("shop_id", kind="integer"), F("shop_domain", kind="text")]


def privacy(orders: str) -> list[Field]:
    return [
        *SHOP_REQUEST,
        *customer("customer", times=False, required=True),
        F(orders, kind="list"),
        F(orders, 0, kind="integer", required=True),
    ]


FIELDS: dict[str, list[Field]] = {
    **dict.fromkeys(
        [f"orders/{event}" for event in ("create", "updated", "paid", "fulfilled", "cancelled")],
        ORDER,
    ),
    **dict.fromkeys(
        ["fulfillments/create", "fulfillments/update"], fulfillment(order_id_required=True)
    ),
    "refunds/create": refund(order_id_required=True),
    **dict.fromkeys(["checkouts/create", "checkouts/update"], CHECKOUT),
    "checkouts/delete": [
        F("id", kind="integer"),
        F("token", kind="text"),
        F("cart_token", kind="text"),
    ],
    **dict.fromkeys(["customers/create", "customers/update"], CUSTOMER),
    "customers/delete": [F("id", kind="integer", required=True)],
    "customers_email_marketing_consent/update": CONSENT_UPDATE,
    **dict.fromkeys(["app/uninstalled", "shop/update"], SHOP),
    "customers/data_request": [*privacy("orders_requested"), F("data_request", kind="object")],
    "customers/redact": privacy("orders_to_redact"),
    "shop/redact": SHOP_REQUEST,
}


def sample(topic: str) -> dict[str, Any]:
    """A fresh copy of the topic's sample payload."""
    payload: dict[str, Any] = json.loads(_sample_text(topic))
    return payload


@functools.cache
def _sample_text(topic: str) -> str:
    # An order also gets a refund and a fulfillment of its own.
    payload = load_payload(topic.replace("/", "__"))
    if topic.startswith("orders/"):
        payload["refunds"] = [load_payload("refunds__create")]
        payload["fulfillments"] = [load_payload("fulfillments__create")]
    return json.dumps(payload)


def reach(payload: Any, path: Path) -> Any:
    """The value at *path*, or None when a change left nothing there."""
    for step in path:
        if isinstance(payload, dict) and isinstance(step, str):
            payload = payload.get(step)
        elif isinstance(payload, list) and isinstance(step, int) and step < len(payload):
            payload = payload[step]
        else:
            return None
    return payload


def put(payload: dict[str, Any], path: Path, value: Any) -> None:
    parent = reach(payload, path[:-1])
    if value is MISSING:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value


def choices(topic: str, field: Field) -> list[Value]:
    """What may be put in *field*: its kind's values, null, and (in an object) nothing."""
    values = list(VALUES[field.kind])
    if field.kind == "object" and any(f.required for f in children(topic, field.path)):
        values = [Value({}, False), *values[1:]]
    values.append(Value(None, not field.required))
    if isinstance(field.path[-1], str):
        values.append(Value(MISSING, not field.required))
    return values


def children(topic: str, path: Path) -> Iterator[Field]:
    return (f for f in FIELDS[topic] if f.path[:-1] == path)


def follows_the_rules(topic: str, payload: dict[str, Any]) -> bool:
    """The cross-field rules: an order needs a total, a checkout deletion names its checkout."""
    if topic.startswith("orders/"):
        shop_money = (payload.get("total_price_set") or {}).get("shop_money") or {}
        return payload.get("total_price") is not None or shop_money.get("amount") is not None
    if topic == "checkouts/delete":
        return bool(payload.get("token") or payload.get("cart_token"))
    return True


def decide(topic: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Return what parse_payload hands over, or None when it refuses the payload."""
    body = json.dumps(payload).encode()
    try:
        return parse_payload(body, topic=topic)
    except InvalidPayload as exc:
        message = str(exc)
    assert message.startswith(f"The webhook payload does not match the {topic} schema: ")
    return None


def test_every_topic_with_a_schema_has_pinned_fields_that_its_sample_has_room_for() -> None:
    assert set(FIELDS) == set(SCHEMAS)
    for topic, fields in FIELDS.items():
        payload = sample(topic)
        assert decide(topic, payload) == payload
        for field in fields:
            assert isinstance(reach(payload, field.path[:-1]), dict | list), (topic, field)


def test_every_field_decides_every_value_of_its_kind_as_pinned() -> None:
    wrong = []
    for topic, fields in FIELDS.items():
        for field in fields:
            for value in choices(topic, field):
                payload = sample(topic)
                put(payload, field.path, value.json)
                accepted = decide(topic, payload) is not None
                if accepted != (value.accepted and follows_the_rules(topic, payload)):
                    wrong.append((topic, field.path, value.json, accepted))
    assert wrong == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mutated_samples(draw: st.DrawFn) -> tuple[str, dict[str, Any], bool]:
    """A sample with up to four of its fields changed and unknown fields added to its objects."""
    topic = draw(st.sampled_from(sorted(FIELDS)))
    payload = sample(topic)
    fields = draw(st.lists(st.sampled_from(FIELDS[topic]), min_size=1, max_size=4, unique=True))
    # A field inside one that is changed too is gone with it: change only the outermost.
    fields = [
        f for f in fields if not any(f.path[: len(o.path)] == o.path != f.path for o in fields)
    ]
    accepted = True
    for field in fields:
        value = draw(st.sampled_from(choices(topic, field)))
        put(payload, field.path, value.json)
        accepted = accepted and value.accepted
    objects = [(), *(f.path for f in FIELDS[topic] if f.kind == "object")]
    for path in draw(st.lists(st.sampled_from(objects), max_size=3)):
        target = reach(payload, path)
        if isinstance(target, dict):
            known = {f.path[-1] for f in children(topic, path)}
            key = draw(st.text(max_size=12).filter(lambda k, known=known: k not in known))
            target[key] = draw(JSON)
    return topic, payload, accepted and follows_the_rules(topic, payload)


@settings(max_examples=400, deadline=None)
@given(mutated_samples())
def test_a_mutated_sample_is_refused_exactly_when_a_changed_field_or_rule_refuses_it(
    case: tuple[str, dict[str, Any], bool],
) -> None:
    topic, payload, accepted = case

    handed_over = decide(topic, payload)

    if accepted:
        assert handed_over == payload  # unknown fields and values as sent
    else:
        assert handed_over is None


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda p: p.update(id=1.0), "Expected `int`, got `float` - at `$.id`"),
        (
            lambda p: p["line_items"][1].update(id="12"),
            "Expected `int`, got `str` - at `$.line_items[1].id`",
        ),
        (
            lambda p: p.update(total_price=None, total_price_set=None),
            "an order needs total_price or total_price_set",
        ),
        (
            lambda p: p["total_tax_set"]["shop_money"].update(amount="NaN"),
            "`amount` is not a finite amount: NaN - at `$.total_tax_set.shop_money`",
        ),
        (
            lambda p: p.update(created_at="yesterday"),
            "Invalid RFC3339 encoded datetime - at `$.created_at`",
        ),
    ],
)
def test_a_refused_order_says_what_is_wrong_and_where(mutate: Any, error: str) -> None:
    payload = sample("orders/create")
    mutate(payload)

    with pytest.raises(InvalidPayload) as refused:
        parse_payload(json.dumps(payload).encode(), topic="orders/create")

    assert (
        str(refused.value)
        == f"The webhook payload does not match the orders/create schema: {error}"
    )


def test_a_number_longer_than_python_converts_is_refused_as_not_json() -> None:
    with pytest.raises(InvalidPayload, match="^The webhook body is not valid JSON: Exceeds"):
        parse_payload(b'{"id": 1, "note": 1' + b"0" * 5000 + b"}", topic="customers/delete")


def test_unknown_fields_nest_as_deep_as_the_json_parser_allows() -> None:
    payload = sample("customers/data_request")
    deep: Any = "bottom"
    for _ in range(300):
        deep = {"level": [deep]}
    payload["data_request"]["details"] = payload["extra"] = deep

    assert decide("customers/data_request", payload) == payload
