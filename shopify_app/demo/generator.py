"""A seeded simulation of a coffee shop that yields the webhooks Shopify would send, in time order.

The simulation is a small discrete-event loop: customers arrive with weekly, yearly and holiday
seasonality, start checkouts (some abandoned, a share recovered later under the same token), pay,
get their parcels, sometimes cancel or ask for a refund, and come back for the consumables they use
up at about the product's interval. Every action emits the webhooks it would cause, built from
Shopify's own sample payloads (`samples/`) with ids, people, times, money and lines replaced.

One `random.Random(seed)` drives everything and actions run in (time, sequence) order, so a seed,
a customer count and a `now` always give the same stream, byte for byte.
"""

from __future__ import annotations

import base64
import functools
import heapq
import itertools
import json
import marshal
import math
import random
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal
from importlib import resources
from typing import Any
from typing import NamedTuple
from typing import TextIO
from zoneinfo import ZoneInfo

from shopify_app.demo import DEMO_SHOP_DOMAIN
from shopify_app.demo.catalog import CONSUMABLES
from shopify_app.demo.catalog import DURABLES
from shopify_app.demo.catalog import Product
from shopify_app.demo.catalog import Variant

CONSENT_TOPIC = "customers_email_marketing_consent/update"
"""The email consent topic (API 2025-01 moved consent out of the customer payloads)."""

TOPICS: tuple[str, ...] = (
    "shop/update",
    "customers/create",
    "customers/update",
    CONSENT_TOPIC,
    "checkouts/create",
    "checkouts/update",
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "fulfillments/create",
    "fulfillments/update",
    "refunds/create",
)
"""Every topic the demo store emits."""

_CENT = Decimal("0.01")
_FREE_SHIPPING_FROM = Decimal("50.00")
_SHIPPING_PRICE = Decimal("5.90")

# Relative demand by hour of the shop's day and by weekday (Monday first): evenings and the start
# of the week sell most, nights almost nothing.
_HOUR_WEIGHT = (
    0.25,
    0.15,
    0.1,
    0.08,
    0.08,
    0.12,
    0.3,
    0.55,
    0.8,
    0.95,
    1.0,
    1.05,
    1.1,
    1.05,
    1.0,
    1.0,
    1.05,
    1.15,
    1.3,
    1.5,
    1.6,
    1.45,
    1.05,
    0.55,
)
_WEEKDAY_WEIGHT = (1.15, 1.08, 1.0, 0.98, 0.9, 0.85, 1.05)
_MAX_DEMAND = max(_HOUR_WEIGHT) * max(_WEEKDAY_WEIGHT) * 1.2 * 3.0 * 1.3


class DemoEvent(NamedTuple):
    """One webhook the shop sends: when it happened (aware UTC), its topic and its JSON body."""

    occurred_at: datetime
    topic: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class ShopProfile:
    """The demo shop as shop/update describes it."""

    domain: str = DEMO_SHOP_DOMAIN
    shopify_id: int = 69_342_011_531
    name: str = "Retention Demo Roasters"
    email: str = "owner@retention-demo.example.com"
    support_email: str = "hello@retention-demo.example.com"
    owner_first_name: str = "Sam"
    owner_last_name: str = "Rivera"
    currency: str = "USD"
    iana_timezone: str = "America/New_York"
    location_id: int = 71_460_634_795


@functools.cache
def _sample_text(topic: str) -> str:
    name = topic.replace("/", "__") + ".json"
    return resources.files("shopify_app.demo").joinpath("samples", name).read_text("utf-8")


@dataclass(frozen=True)
class _Template:
    topic: str
    path: tuple[str | int, ...]


def _part(topic: str, *path: str | int) -> _Template:
    """Point at Shopify's sample payload for *topic*, or at the part of it under *path*."""
    return _Template(topic, path)


@functools.cache
def _template_parts(template: _Template) -> tuple[tuple[str, Any, bytes | None], ...]:
    node: Any = json.loads(_sample_text(template.topic))
    for step in template.path:
        node = node[step]
    return tuple(
        (key, None, marshal.dumps(value)) if isinstance(value, dict | list) else (key, value, None)
        for key, value in node.items()
    )


def _fill(template: _Template, **values: Any) -> dict[str, Any]:
    """Return the sample part *template* with *values* replacing fields, in Shopify's key order.

    Only fields the sample has may be replaced (a typo would add a field Shopify never sends);
    the fields kept from the sample are deep copies (unmarshalling cached bytes is the cheapest).
    """
    built: dict[str, Any] = {}
    for key, scalar, packed in _template_parts(template):
        if key in values:
            built[key] = values.pop(key)
        elif packed is None:
            built[key] = scalar
        else:
            built[key] = marshal.loads(packed)
    if values:
        raise KeyError(f"{sorted(values)} are not fields of the sample payload")
    return built


def _money(amount: Decimal) -> str:
    return format(amount.quantize(_CENT, rounding=ROUND_HALF_UP), "f")


@functools.cache
def _black_friday(year: int) -> date:
    november_first = date(year, 11, 1)
    first_thursday = 1 + (3 - november_first.weekday()) % 7
    return date(year, 11, first_thursday + 21 + 1)


@functools.lru_cache(maxsize=4096)
def season_factor(day: date) -> float:
    """Return the relative demand of *day*: a winter high, a summer low and a holiday peak."""
    factor = 1.0 + 0.2 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 355) / 365.25)
    black_friday = _black_friday(day.year)
    if black_friday <= day <= black_friday + timedelta(days=3):
        return factor * 3.0
    if date(day.year, 12, 1) <= day <= date(day.year, 12, 20):
        return factor * 1.5
    if date(day.year, 12, 24) <= day <= date(day.year, 12, 26):
        return factor * 0.6
    return factor


_FIRST_NAMES = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Elijah",
    "Sophia",
    "James",
    "Isabella",
    "Lucas",
    "Mia",
    "Mateo",
    "Amelia",
    "Ethan",
    "Harper",
    "Benjamin",
    "Evelyn",
    "Henry",
    "Abigail",
    "Leo",
    "Emily",
    "Daniel",
    "Ella",
    "Samuel",
    "Grace",
    "Owen",
    "Chloe",
    "Jack",
    "Nora",
    "Wyatt",
    "Lily",
    "Julian",
    "Zoe",
    "Isaac",
    "Hannah",
    "Gabriel",
    "Aria",
    "Caleb",
    "Layla",
    "Ryan",
    "Priya",
    "Arjun",
    "Mei",
    "Hiroshi",
    "Fatima",
    "Omar",
    "Sofia",
    "Diego",
    "Ingrid",
    "Kwame",
)
_LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Patel",
    "Kim",
    "Chen",
    "Okafor",
    "Larsen",
)
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
_STREETS = (
    "Maple Ave",
    "Oak St",
    "Cedar Ln",
    "Pine St",
    "Elm St",
    "Washington Blvd",
    "Lake Dr",
    "Hillcrest Rd",
    "Sunset Blvd",
    "Park Ave",
    "River Rd",
    "Highland Ave",
    "Church St",
)
# (city, province, province code, zip prefix)
_CITIES = (
    ("New York", "New York", "NY", "100"),
    ("Brooklyn", "New York", "NY", "112"),
    ("Boston", "Massachusetts", "MA", "021"),
    ("Philadelphia", "Pennsylvania", "PA", "191"),
    ("Chicago", "Illinois", "IL", "606"),
    ("Austin", "Texas", "TX", "787"),
    ("Houston", "Texas", "TX", "770"),
    ("Denver", "Colorado", "CO", "802"),
    ("Seattle", "Washington", "WA", "981"),
    ("Portland", "Oregon", "OR", "972"),
    ("San Francisco", "California", "CA", "941"),
    ("Los Angeles", "California", "CA", "900"),
    ("San Diego", "California", "CA", "921"),
    ("Atlanta", "Georgia", "GA", "303"),
    ("Miami", "Florida", "FL", "331"),
    ("Minneapolis", "Minnesota", "MN", "554"),
    ("Nashville", "Tennessee", "TN", "372"),
    ("Phoenix", "Arizona", "AZ", "850"),
    ("Raleigh", "North Carolina", "NC", "276"),
    ("Madison", "Wisconsin", "WI", "537"),
)
_ID_BASES = {
    "customer": 7_412_580_000_000,
    "address": 9_122_640_000_000,
    "order": 5_981_224_000_000,
    "line": 15_304_118_000_000,
    "shipping_line": 4_811_233_000_000,
    "fulfillment": 5_402_118_000_000,
    "refund": 1_012_440_000_000,
    "refund_line": 512_330_000_000,
    "transaction": 7_001_552_000_000,
    "checkout": 37_220_914_000_000,
}


@dataclass
class _Customer:
    id: int
    address_id: int
    first_name: str
    last_name: str
    email: str
    phone: str | None
    address: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    has_account: bool
    consent_state: str | None
    consent_level: str | None
    consent_updated_at: datetime | None
    is_repeater: bool
    loyalty: float
    pace: float
    orders: int = 0
    has_planned_purchase: bool = False

    @property
    def is_subscribed(self) -> bool:
        return self.consent_state == "subscribed"


@dataclass
class _Line:
    id: int
    product: Product
    variant: Variant
    quantity: int
    discount: Decimal = Decimal("0")
    refunded_quantity: int = 0

    @property
    def total(self) -> Decimal:
        return self.product.price * self.quantity

    def refund_subtotal(self, quantity: int) -> Decimal:
        per_unit = (self.total - self.discount) / self.quantity
        return (per_unit * quantity).quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass
class _Checkout:
    token: str
    cart_token: str
    recovery_key: str
    name_id: int
    customer: _Customer
    lines: list[_Line]
    discount_code: str | None
    discount_percent: int
    created_at: datetime
    updated_at: datetime
    is_first_purchase: bool
    is_reorder: bool
    is_test: bool = False
    has_shipping_address: bool = False
    completed_at: datetime | None = None


@dataclass
class _Refund:
    id: int
    created_at: datetime
    lines: list[tuple[int, _Line, int, Decimal]]
    amount: Decimal
    transaction_id: int
    note: str | None
    restock: bool


@dataclass
class _Fulfillment:
    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    tracking_company: str
    tracking_number: str
    shipment_status: str | None = None


@dataclass
class _Order:
    id: int
    number: int
    token: str
    status_key: str
    confirmation_number: str
    customer: _Customer
    checkout: _Checkout
    lines: list[_Line]
    shipping_line_id: int
    shipping: Decimal
    gateway: str
    sale_transaction_id: int
    created_at: datetime
    updated_at: datetime
    financial_status: str
    landing_site: str
    referring_site: str | None
    browser_ip: str
    is_test: bool
    fulfillment_status: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    fulfillments: list[_Fulfillment] = field(default_factory=list)
    refunds: list[_Refund] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def line_items_total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0"))

    @property
    def discounts(self) -> Decimal:
        return sum((line.discount for line in self.lines), Decimal("0"))

    @property
    def subtotal(self) -> Decimal:
        return self.line_items_total - self.discounts

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping

    @property
    def refunded(self) -> Decimal:
        return sum((refund.amount for refund in self.refunds), Decimal("0"))

    @property
    def is_fully_refunded(self) -> bool:
        return all(line.refunded_quantity >= line.quantity for line in self.lines)


Action = Callable[[datetime], Iterator[DemoEvent]]


class ShopSimulation:
    """Simulate the demo shop from `now - history_days` onwards; iterate it once for its webhooks.

    *customers* is the number of customers who arrive during the history window (exactly); after
    *now* new customers keep arriving at the same seasonal rate, so the stream never ends.
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        customers: int = 5000,
        now: datetime,
        history_days: int = 730,
        shop: ShopProfile | None = None,
    ) -> None:
        if customers < 1:
            raise ValueError("customers must be at least 1")
        if history_days < 1:
            raise ValueError("history_days must be at least 1")
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        self.seed = seed
        self.customer_count = customers
        self.now = now.astimezone(UTC)
        self.start = self.now - timedelta(days=history_days)
        self.shop = shop or ShopProfile()
        self._tz = ZoneInfo(self.shop.iana_timezone)
        self._rng = random.Random(seed)
        self._heap: list[tuple[datetime, int, Action]] = []
        self._sequence = itertools.count()
        self._last_id = dict(_ID_BASES)
        self._order_number = 1000
        self._emails: set[str] = set()
        self._started = False
        arrivals_rng = random.Random(f"{seed}-arrivals")
        self._arrivals = self._sample_arrivals(arrivals_rng, customers)
        self._arrival_rate = customers / self._expected_demand()

    # -- the loop -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[DemoEvent]:
        if self._started:
            raise RuntimeError("a ShopSimulation can be iterated only once; create a new one")
        self._started = True
        return self._run()

    def _run(self) -> Iterator[DemoEvent]:
        self._at(self.start, self._shop_update)
        self._at(self.start + timedelta(hours=2), self._open_shop)
        self._at(self.start + timedelta(days=self._rng.uniform(300, 420)), self._shop_update)
        self._at(self._arrivals[0], functools.partial(self._arrive, index=0))
        while self._heap:
            at, _, action = heapq.heappop(self._heap)
            yield from action(at)

    def _at(self, at: datetime, action: Action) -> None:
        heapq.heappush(self._heap, (at, next(self._sequence), action))

    def _later(self, at: datetime, action: Action, **delay: float) -> None:
        self._at(at + timedelta(**delay), action)

    # -- time and demand ------------------------------------------------------------------------

    def _demand(self, at: datetime) -> float:
        local = at.astimezone(self._tz)
        progress = (at - self.start) / (self.now - self.start)
        growth = 0.7 + 0.6 * min(max(progress, 0.0), 1.0)
        return (
            _HOUR_WEIGHT[local.hour]
            * _WEEKDAY_WEIGHT[local.weekday()]
            * season_factor(local.date())
            * growth
        )

    def _expected_demand(self) -> float:
        """Return the integral of demand over the history window, in demand-seconds."""
        # Day by day (a DST hour either way does not matter for a rate).
        days = max(1, round((self.now - self.start).total_seconds() / 86400))
        total = 0.0
        for offset in range(days):
            noon = self.start + timedelta(days=offset, hours=12)
            local_day = noon.astimezone(self._tz).date()
            progress = (noon - self.start) / (self.now - self.start)
            total += (
                _WEEKDAY_WEIGHT[local_day.weekday()]
                * season_factor(local_day)
                * (0.7 + 0.6 * min(progress, 1.0))
            )
        return total * sum(_HOUR_WEIGHT) * 3600

    def _sample_arrivals(self, rng: random.Random, count: int) -> list[datetime]:
        span = (self.now - self.start).total_seconds()
        arrivals: list[datetime] = []
        while len(arrivals) < count:
            at = self.start + timedelta(seconds=rng.uniform(span * 0.001, span))
            if rng.random() * _MAX_DEMAND < self._demand(at):
                arrivals.append(at.replace(microsecond=0))
        arrivals.sort()
        return arrivals

    def _next_live_arrival(self, after: datetime) -> datetime:
        at = after
        while True:
            at += timedelta(seconds=self._rng.expovariate(self._arrival_rate * _MAX_DEMAND))
            if self._rng.random() * _MAX_DEMAND < self._demand(at):
                return at.replace(microsecond=0)

    def _shop_hour_on(self, day: date, *, not_before: datetime) -> datetime:
        """Return a moment on *day* (shop time) drawn from the daily demand curve."""
        hour = self._rng.choices(range(24), weights=_HOUR_WEIGHT)[0]
        local = datetime.combine(day, time(hour), tzinfo=self._tz) + timedelta(
            seconds=self._rng.randrange(3600)
        )
        at = local.astimezone(UTC)
        return at if at > not_before else not_before + timedelta(minutes=self._rng.uniform(5, 90))

    def _in_days(self, at: datetime, days: float) -> datetime:
        target = at + timedelta(days=days)
        return self._shop_hour_on(target.astimezone(self._tz).date(), not_before=at)

    def _ts(self, at: datetime | None) -> str | None:
        return None if at is None else at.astimezone(self._tz).isoformat(timespec="seconds")

    def _is_holiday_sale(self, at: datetime) -> bool:
        day = at.astimezone(self._tz).date()
        black_friday = _black_friday(day.year)
        return black_friday <= day <= black_friday + timedelta(days=3)

    # -- ids and people -------------------------------------------------------------------------

    def _new_id(self, kind: str) -> int:
        self._last_id[kind] += self._rng.randint(1, 4096)
        return self._last_id[kind]

    def _hex(self, bits: int = 128) -> str:
        return format(self._rng.getrandbits(bits), f"0{bits // 4}x")

    def _new_customer(
        self,
        at: datetime,
        *,
        first: str | None = None,
        last: str | None = None,
        email: str | None = None,
    ) -> _Customer:
        rng = self._rng
        first = first or rng.choice(_FIRST_NAMES)
        last = last or rng.choice(_LAST_NAMES)
        if email is None:
            local = f"{first}.{last}".lower()
            email = f"{local}@{rng.choice(_EMAIL_DOMAINS)}"
            while email in self._emails:
                email = f"{local}{rng.randint(2, 9999)}@{rng.choice(_EMAIL_DOMAINS)}"
        self._emails.add(email)
        city, province, province_code, zip_prefix = rng.choice(_CITIES)
        phone = None
        if rng.random() < 0.6:
            phone = f"+1{rng.randint(201, 989)}555{rng.randint(0, 9999):04d}"
        address = {
            "first_name": first,
            "address1": f"{rng.randint(1, 9899)} {rng.choice(_STREETS)}",
            "phone": phone,
            "city": city,
            "zip": f"{zip_prefix}{rng.randint(0, 99):02d}",
            "province": province,
            "country": "United States",
            "last_name": last,
            "address2": f"Apt {rng.randint(1, 40)}" if rng.random() < 0.25 else None,
            "company": None,
            "latitude": None,
            "longitude": None,
            "name": f"{first} {last}",
            "country_code": "US",
            "province_code": province_code,
        }
        consent_roll = rng.random()
        if consent_roll < 0.46:
            state, level = "subscribed", "single_opt_in"
        elif consent_roll < 0.5:
            state, level = "pending", "confirmed_opt_in"
        else:
            state, level = "not_subscribed", "single_opt_in"
        return _Customer(
            id=self._new_id("customer"),
            address_id=self._new_id("address"),
            first_name=first,
            last_name=last,
            email=email,
            phone=phone,
            address=address,
            created_at=at,
            updated_at=at,
            has_account=rng.random() < 0.3,
            consent_state=state,
            consent_level=level,
            consent_updated_at=at,
            is_repeater=rng.random() < 0.62,
            loyalty=rng.uniform(0.7, 0.93),
            pace=rng.lognormvariate(0.0, 0.15),
        )

    def _pick_products(self, pool: tuple[Product, ...], count: int) -> list[Product]:
        chosen: list[Product] = []
        while len(chosen) < min(count, len(pool)):
            product = self._rng.choices(pool, weights=[p.popularity for p in pool])[0]
            if product not in chosen:
                chosen.append(product)
        return chosen

    def _basket(self, products: list[Product]) -> list[tuple[Product, Variant, int]]:
        rng = self._rng
        basket = []
        for product in products:
            quantity = 1
            if product.is_consumable and rng.random() < 0.22:
                quantity = 2
            basket.append((product, rng.choice(product.variants), quantity))
        return basket

    def _first_basket(self) -> list[tuple[Product, Variant, int]]:
        rng = self._rng
        roll = rng.random()
        if roll < 0.55:
            products = self._pick_products(CONSUMABLES, 1 if rng.random() < 0.7 else 2)
            if rng.random() < 0.2:
                products += self._pick_products(DURABLES, 1)
        elif roll < 0.85:
            products = self._pick_products(DURABLES, 1)
            if rng.random() < 0.35:
                products += self._pick_products(CONSUMABLES, 1)
        else:
            products = self._pick_products(DURABLES, 2)
        return self._basket(products)

    # -- actions --------------------------------------------------------------------------------

    def _shop_update(self, at: datetime) -> Iterator[DemoEvent]:
        yield DemoEvent(at, "shop/update", self._shop_payload(at))

    def _open_shop(self, at: datetime) -> Iterator[DemoEvent]:
        # The merchant tries the checkout with the test gateway before launch, and now and then.
        shop = self.shop
        owner = self._new_customer(
            at, first=shop.owner_first_name, last=shop.owner_last_name, email=shop.email
        )
        owner.is_repeater = False
        owner.consent_state, owner.consent_level = "not_subscribed", "single_opt_in"
        yield DemoEvent(at, "customers/create", self._customer_payload(owner))
        self._later(
            at, functools.partial(self._test_checkout, owner=owner, repeat=False), minutes=20
        )
        self._later(at, functools.partial(self._test_checkout, owner=owner, repeat=True), hours=3)

    def _test_checkout(
        self, at: datetime, *, owner: _Customer, repeat: bool
    ) -> Iterator[DemoEvent]:
        checkout = self._new_checkout(at, owner, self._first_basket(), is_test=True)
        yield DemoEvent(at, "checkouts/create", self._checkout_payload(checkout))
        self._later(at, functools.partial(self._complete_checkout, checkout=checkout), minutes=3)
        if repeat:
            next_test = self._in_days(at, self._rng.uniform(90, 200))
            self._at(next_test, functools.partial(self._test_checkout, owner=owner, repeat=True))

    def _arrive(self, at: datetime, *, index: int) -> Iterator[DemoEvent]:
        rng = self._rng
        customer = self._new_customer(at)
        yield DemoEvent(at, "customers/create", self._customer_payload(customer))
        yield DemoEvent(at, CONSENT_TOPIC, self._consent_payload(customer))
        if customer.consent_state == "pending":
            if rng.random() < 0.75:
                self._later(
                    at,
                    functools.partial(self._change_consent, customer=customer, state="subscribed"),
                    hours=rng.uniform(0.2, 30),
                )
        elif customer.is_subscribed and rng.random() < 0.08:
            self._at(
                self._in_days(at, rng.uniform(20, 500)),
                functools.partial(self._change_consent, customer=customer, state="unsubscribed"),
            )
        elif customer.consent_state == "not_subscribed" and rng.random() < 0.05:
            self._at(
                self._in_days(at, rng.uniform(5, 300)),
                functools.partial(self._change_consent, customer=customer, state="subscribed"),
            )
        customer.has_planned_purchase = True
        self._later(
            at,
            functools.partial(
                self._start_checkout,
                customer=customer,
                basket=self._first_basket(),
                is_reorder=False,
            ),
            seconds=rng.uniform(20, 240),
        )
        following = index + 1
        if following < len(self._arrivals):
            next_at = self._arrivals[following]
        else:
            next_at = self._next_live_arrival(max(at, self.now))
        self._at(next_at, functools.partial(self._arrive, index=following))

    def _change_consent(
        self, at: datetime, *, customer: _Customer, state: str
    ) -> Iterator[DemoEvent]:
        if customer.consent_state == state:
            return
        customer.consent_state = state
        customer.consent_updated_at = at
        customer.updated_at = at
        yield DemoEvent(at, CONSENT_TOPIC, self._consent_payload(customer))
        yield DemoEvent(at, "customers/update", self._customer_payload(customer))

    def _new_checkout(
        self,
        at: datetime,
        customer: _Customer,
        basket: list[tuple[Product, Variant, int]],
        *,
        is_reorder: bool = False,
        is_test: bool = False,
    ) -> _Checkout:
        rng = self._rng
        is_first = customer.orders == 0
        code, percent = None, 0
        if self._is_holiday_sale(at) and rng.random() < 0.6:
            code, percent = "BFCM20", 20
        elif is_first and not is_test and rng.random() < 0.25:
            code, percent = "WELCOME10", 10
        elif rng.random() < 0.04:
            code, percent = "COFFEELOVER15", 15
        lines = [
            _Line(id=self._new_id("line"), product=p, variant=v, quantity=q) for p, v, q in basket
        ]
        if percent:
            self._allocate_discount(lines, percent)
        return _Checkout(
            token=self._hex(),
            cart_token=self._hex(),
            recovery_key=self._hex(),
            name_id=self._new_id("checkout"),
            customer=customer,
            lines=lines,
            discount_code=code,
            discount_percent=percent,
            created_at=at,
            updated_at=at,
            is_first_purchase=is_first,
            is_reorder=is_reorder,
            is_test=is_test,
        )

    @staticmethod
    def _allocate_discount(lines: list[_Line], percent: int) -> None:
        total = sum((line.total for line in lines), Decimal("0"))
        discount = (total * percent / 100).quantize(_CENT, rounding=ROUND_HALF_UP)
        left = discount
        for line in lines[:-1]:
            line.discount = (discount * line.total / total).quantize(_CENT, rounding=ROUND_HALF_UP)
            left -= line.discount
        lines[-1].discount = left

    def _start_checkout(
        self,
        at: datetime,
        *,
        customer: _Customer,
        basket: list[tuple[Product, Variant, int]],
        is_reorder: bool,
        is_planned: bool = True,
    ) -> Iterator[DemoEvent]:
        rng = self._rng
        if is_planned:
            customer.has_planned_purchase = False
        checkout = self._new_checkout(at, customer, basket, is_reorder=is_reorder)
        yield DemoEvent(at, "checkouts/create", self._checkout_payload(checkout))
        abandon_share = 0.3 if checkout.is_first_purchase else 0.15
        if rng.random() >= abandon_share:
            self._later(
                at,
                functools.partial(self._complete_checkout, checkout=checkout),
                minutes=rng.uniform(2, 15),
            )
            return
        if rng.random() < 0.6:
            self._later(
                at,
                functools.partial(self._touch_checkout, checkout=checkout),
                minutes=rng.uniform(1, 12),
            )
        if rng.random() < 0.22:
            # Recovered: the buyer comes back to the same checkout (often from a reminder).
            hours = rng.choice((rng.uniform(1, 6), rng.uniform(6, 30), rng.uniform(30, 96)))
            self._later(
                at, functools.partial(self._complete_checkout, checkout=checkout), hours=hours
            )
        elif is_reorder and rng.random() < 0.5:
            customer.has_planned_purchase = True
            retry = functools.partial(
                self._start_checkout, customer=customer, basket=basket, is_reorder=True
            )
            self._at(self._in_days(at, rng.uniform(1, 6)), retry)
        elif is_reorder:
            self._plan_from_lines(at, customer, checkout.lines)

    def _touch_checkout(self, at: datetime, *, checkout: _Checkout) -> Iterator[DemoEvent]:
        if checkout.completed_at is not None:
            return
        checkout.has_shipping_address = True
        checkout.updated_at = at
        yield DemoEvent(at, "checkouts/update", self._checkout_payload(checkout))

    def _complete_checkout(self, at: datetime, *, checkout: _Checkout) -> Iterator[DemoEvent]:
        rng = self._rng
        checkout.completed_at = at
        checkout.updated_at = at
        checkout.has_shipping_address = True
        customer = checkout.customer
        customer.orders += 1
        customer.updated_at = at
        if checkout.is_test:
            gateway, status = "bogus", "paid"
        elif rng.random() < 0.9:
            gateway, status = "shopify_payments", "paid"
        else:
            gateway, status = "Bank Deposit", "pending"
        self._order_number += 1
        order = _Order(
            id=self._new_id("order"),
            number=self._order_number,
            token=self._hex(),
            status_key=self._hex(),
            confirmation_number="".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=9)),
            customer=customer,
            checkout=checkout,
            lines=checkout.lines,
            shipping_line_id=self._new_id("shipping_line"),
            shipping=Decimal("0.00"),
            gateway=gateway,
            sale_transaction_id=self._new_id("transaction"),
            created_at=at,
            updated_at=at,
            financial_status=status,
            landing_site=rng.choice(("/", "/", "/collections/coffee", "/products/house-blend")),
            referring_site=rng.choice(
                ("https://www.google.com/", "https://www.instagram.com/", "", None)
            ),
            browser_ip=f"198.51.100.{rng.randint(1, 254)}",
            is_test=checkout.is_test,
        )
        if order.subtotal < _FREE_SHIPPING_FROM:
            order.shipping = _SHIPPING_PRICE
        yield DemoEvent(at, "orders/create", self._order_payload(order))
        self._later(
            at,
            functools.partial(self._checkout_completed, checkout=checkout),
            seconds=rng.uniform(1, 4),
        )
        if order.is_test:
            if rng.random() < 0.5:
                self._later(
                    at,
                    functools.partial(self._cancel, order=order, reason="other"),
                    minutes=rng.uniform(2, 30),
                )
            return
        if status == "pending":
            if rng.random() < 0.88:
                self._later(
                    at, functools.partial(self._mark_paid, order=order), hours=rng.uniform(4, 60)
                )
            else:
                self._later(
                    at,
                    functools.partial(self._cancel, order=order, reason="declined"),
                    days=rng.uniform(3, 7),
                )
        elif rng.random() < 0.015:
            self._later(
                at,
                functools.partial(self._cancel, order=order, reason="customer"),
                hours=rng.uniform(0.5, 10),
            )
        else:
            self._at(
                self._in_days(at, rng.uniform(0.6, 2.2)),
                functools.partial(self._fulfill, order=order),
            )
        self._plan_next_purchase(at, order)

    def _checkout_completed(self, at: datetime, *, checkout: _Checkout) -> Iterator[DemoEvent]:
        checkout.updated_at = at
        yield DemoEvent(at, "checkouts/update", self._checkout_payload(checkout))

    def _plan_next_purchase(self, at: datetime, order: _Order) -> None:
        rng = self._rng
        customer = order.customer
        for line in order.lines:
            if not line.product.is_consumable and rng.random() < 0.02:
                # A second kettle for the office, a gift: durables come back rarely.
                repeat = functools.partial(
                    self._start_checkout,
                    customer=customer,
                    basket=[(line.product, line.variant, 1)],
                    is_reorder=False,
                    is_planned=False,
                )
                self._at(self._in_days(at, rng.uniform(60, 400)), repeat)
        if customer.has_planned_purchase:
            return
        consumables = [line for line in order.lines if line.product.is_consumable]
        if consumables:
            if customer.is_repeater and (customer.orders == 1 or rng.random() < customer.loyalty):
                self._plan_from_lines(at, customer, consumables)
            elif rng.random() < 0.12:
                self._plan_purchase(
                    at, customer, self._first_basket(), rng.uniform(30, 200), is_reorder=False
                )
        elif rng.random() < 0.3:
            # Bought a grinder or a press: many come back for beans.
            basket = self._basket(self._pick_products(CONSUMABLES, 1))
            self._plan_purchase(at, customer, basket, rng.uniform(3, 45), is_reorder=False)

    def _plan_from_lines(self, at: datetime, customer: _Customer, lines: list[_Line]) -> None:
        rng = self._rng
        lasts = min((line.product.reorder_days or 30) * line.quantity for line in lines)
        days = lasts * customer.pace * rng.lognormvariate(0.0, 0.18)
        basket = [(line.product, line.variant, line.quantity) for line in lines]
        if rng.random() < 0.15:
            extra = self._pick_products(CONSUMABLES, 1)[0]
            if all(extra is not product for product, _, _ in basket):
                basket.append((extra, rng.choice(extra.variants), 1))
        self._plan_purchase(at, customer, basket, days, is_reorder=True)

    def _plan_purchase(
        self,
        at: datetime,
        customer: _Customer,
        basket: list[tuple[Product, Variant, int]],
        days: float,
        *,
        is_reorder: bool,
    ) -> None:
        customer.has_planned_purchase = True
        action = functools.partial(
            self._start_checkout, customer=customer, basket=basket, is_reorder=is_reorder
        )
        self._at(self._in_days(at, days), action)

    def _mark_paid(self, at: datetime, *, order: _Order) -> Iterator[DemoEvent]:
        if order.cancelled_at is not None:
            return
        order.financial_status = "paid"
        order.updated_at = at
        yield DemoEvent(at, "orders/updated", self._order_payload(order))
        self._at(
            self._in_days(at, self._rng.uniform(0.5, 2)),
            functools.partial(self._fulfill, order=order),
        )

    def _cancel(self, at: datetime, *, order: _Order, reason: str) -> Iterator[DemoEvent]:
        if order.cancelled_at is not None or order.fulfillments:
            return
        if order.financial_status == "paid":
            refund_lines = [
                (self._new_id("refund_line"), line, q, line.refund_subtotal(q))
                for line in order.lines
                for q in (line.quantity,)
            ]
            refund = self._record_refund(
                at, order, refund_lines, include_shipping=True, note=None, restock=True
            )
            yield DemoEvent(at, "refunds/create", self._refund_payload(order, refund))
            order.financial_status = "refunded"
        else:
            order.financial_status = "voided"
        order.cancelled_at = at
        order.cancel_reason = reason
        order.updated_at = at
        yield DemoEvent(at, "orders/cancelled", self._order_payload(order))

    def _fulfill(self, at: datetime, *, order: _Order) -> Iterator[DemoEvent]:
        if order.cancelled_at is not None:
            return
        rng = self._rng
        company = rng.choice(("UPS", "USPS", "FedEx"))
        fulfillment = _Fulfillment(
            id=self._new_id("fulfillment"),
            name=f"{order.name}.{len(order.fulfillments) + 1}",
            created_at=at,
            updated_at=at,
            tracking_company=company,
            tracking_number=("1Z" + self._hex(64).upper()[:16])
            if company == "UPS"
            else str(rng.randrange(10**19, 10**20)),
        )
        order.fulfillments.append(fulfillment)
        order.fulfillment_status = "fulfilled"
        yield DemoEvent(at, "fulfillments/create", self._fulfillment_payload(order, fulfillment))
        order.updated_at = at
        yield DemoEvent(at, "orders/updated", self._order_payload(order))
        self._at(
            self._in_days(at, rng.uniform(1.5, 5.5)),
            functools.partial(self._deliver, order=order, fulfillment=fulfillment),
        )

    def _deliver(
        self, at: datetime, *, order: _Order, fulfillment: _Fulfillment
    ) -> Iterator[DemoEvent]:
        fulfillment.shipment_status = "delivered"
        fulfillment.updated_at = at
        yield DemoEvent(at, "fulfillments/update", self._fulfillment_payload(order, fulfillment))
        if self._rng.random() < 0.045:
            self._at(
                self._in_days(at, self._rng.uniform(2, 20)),
                functools.partial(self._refund, order=order),
            )

    def _refund(self, at: datetime, *, order: _Order) -> Iterator[DemoEvent]:
        rng = self._rng
        open_lines = [line for line in order.lines if line.refunded_quantity < line.quantity]
        if not open_lines:
            return
        if rng.random() < 0.7:
            line = rng.choice(open_lines)
            chosen = [(line, 1)]
            note = rng.choice(("Damaged in transit", "Wrong grind", "Customer changed their mind"))
        else:
            chosen = [(line, line.quantity - line.refunded_quantity) for line in open_lines]
            note = "Returned"
        refund_lines = [
            (self._new_id("refund_line"), line, quantity, line.refund_subtotal(quantity))
            for line, quantity in chosen
        ]
        refund = self._record_refund(
            at, order, refund_lines, include_shipping=False, note=note, restock=note == "Returned"
        )
        yield DemoEvent(at, "refunds/create", self._refund_payload(order, refund))
        order.financial_status = "refunded" if order.is_fully_refunded else "partially_refunded"
        order.updated_at = at
        yield DemoEvent(at, "orders/updated", self._order_payload(order))

    def _record_refund(
        self,
        at: datetime,
        order: _Order,
        refund_lines: list[tuple[int, _Line, int, Decimal]],
        *,
        include_shipping: bool,
        note: str | None,
        restock: bool,
    ) -> _Refund:
        amount = sum((subtotal for _, _, _, subtotal in refund_lines), Decimal("0"))
        if include_shipping:
            amount += order.shipping
        for _, line, quantity, _ in refund_lines:
            line.refunded_quantity += quantity
        refund = _Refund(
            id=self._new_id("refund"),
            created_at=at,
            lines=refund_lines,
            amount=amount,
            transaction_id=self._new_id("transaction"),
            note=note,
            restock=restock,
        )
        order.refunds.append(refund)
        return refund

    # -- payloads -------------------------------------------------------------------------------

    def _money_set(self, amount: Decimal) -> dict[str, Any]:
        money = {"amount": _money(amount), "currency_code": self.shop.currency}
        return {"shop_money": money, "presentment_money": dict(money)}

    def _shop_payload(self, at: datetime) -> dict[str, Any]:
        shop = self.shop
        is_first = at == self.start
        offset = at.astimezone(self._tz).strftime("%z")
        return _fill(
            _part("shop/update"),
            id=shop.shopify_id,
            name=shop.name,
            email=shop.email,
            domain=shop.domain,
            province="New York",
            country="US",
            address1="41 Roaster Way",
            zip="11211",
            city="Brooklyn",
            phone="+17185550142",
            created_at=self._ts(self.start - timedelta(days=30)),
            updated_at=self._ts(at),
            customer_email=shop.email if is_first else shop.support_email,
            currency=shop.currency,
            timezone=f"(GMT{offset[:3]}:{offset[3:]}) {shop.iana_timezone}",
            iana_timezone=shop.iana_timezone,
            shop_owner=f"{shop.owner_first_name} {shop.owner_last_name}",
            money_format="${{amount}}",
            money_with_currency_format="${{amount}} USD",
            weight_unit="lb",
            province_code="NY",
            taxes_included=False,
            tax_shipping=False,
            plan_display_name="Basic",
            plan_name="basic",
            myshopify_domain=shop.domain,
            money_in_emails_format="${{amount}}",
            money_with_currency_in_emails_format="${{amount}} USD",
            password_enabled=False,
            primary_location_id=shop.location_id,
            enabled_presentment_currencies=[shop.currency],
        )

    def _customer_payload(self, customer: _Customer) -> dict[str, Any]:
        payload = _part("customers/create")
        address = self._default_address(customer, _part("customers/create", "default_address"))
        return _fill(
            payload,
            id=customer.id,
            created_at=self._ts(customer.created_at),
            updated_at=self._ts(customer.updated_at),
            first_name=customer.first_name,
            last_name=customer.last_name,
            state="enabled" if customer.has_account else "disabled",
            note=None,
            verified_email=True,
            email=customer.email,
            phone=customer.phone,
            currency=self.shop.currency,
            addresses=[address],
            admin_graphql_api_id=f"gid://shopify/Customer/{customer.id}",
            default_address=dict(address),
        )

    def _default_address(self, customer: _Customer, template: _Template) -> dict[str, Any]:
        address = customer.address
        return _fill(
            template,
            id=customer.address_id,
            customer_id=customer.id,
            first_name=customer.first_name,
            last_name=customer.last_name,
            company=None,
            address1=address["address1"],
            address2=address["address2"],
            city=address["city"],
            province=address["province"],
            country=address["country"],
            zip=address["zip"],
            phone=address["phone"],
            name=address["name"],
            province_code=address["province_code"],
            country_code="US",
            country_name="United States",
        )

    def _consent_payload(self, customer: _Customer) -> dict[str, Any]:
        consent = _fill(
            _part(CONSENT_TOPIC, "email_marketing_consent"),
            state=customer.consent_state,
            opt_in_level=customer.consent_level,
            consent_updated_at=self._ts(customer.consent_updated_at),
        )
        return _fill(
            _part(CONSENT_TOPIC),
            customer_id=customer.id,
            email_address=customer.email,
            email_marketing_consent=consent,
        )

    def _order_customer(self, customer: _Customer, topic: str) -> dict[str, Any]:
        address_template = _part(topic, "customer", "default_address")
        return _fill(
            _part(topic, "customer"),
            id=customer.id,
            created_at=self._ts(customer.created_at),
            updated_at=self._ts(customer.updated_at),
            first_name=customer.first_name,
            last_name=customer.last_name,
            state="enabled" if customer.has_account else "disabled",
            email=customer.email,
            phone=customer.phone,
            currency=self.shop.currency,
            admin_graphql_api_id=f"gid://shopify/Customer/{customer.id}",
            default_address=self._default_address(customer, address_template),
        )

    def _checkout_payload(self, checkout: _Checkout) -> dict[str, Any]:
        payload = _part("checkouts/create")
        shop = self.shop
        lines = []
        for line in checkout.lines:
            item = _part("checkouts/create", "line_items", 0)
            lines.append(
                _fill(
                    item,
                    applied_discounts=[],
                    discount_allocations=[],
                    key=format(line.id, "032x"),
                    destination_location_id=None,
                    origin_location_id=shop.location_id,
                    grams=line.product.grams,
                    presentment_title=line.product.title,
                    presentment_variant_title=line.variant.title,
                    product_id=line.product.id,
                    quantity=line.quantity,
                    sku=line.variant.sku,
                    tax_lines=[],
                    title=line.product.title,
                    variant_id=line.variant.id,
                    variant_title=line.variant.title,
                    variant_price=_money(line.product.price),
                    vendor=line.product.vendor,
                    line_price=_money(line.total),
                    price=_money(line.product.price),
                )
            )
        customer = checkout.customer
        address = dict(customer.address) if checkout.has_shipping_address else None
        line_total = sum((line.total for line in checkout.lines), Decimal("0"))
        discounts = sum((line.discount for line in checkout.lines), Decimal("0"))
        discount_codes = []
        if checkout.discount_code:
            discount_codes.append(
                {"code": checkout.discount_code, "amount": _money(discounts), "type": "percentage"}
            )
        return _fill(
            payload,
            token=checkout.token,
            cart_token=checkout.cart_token,
            email=customer.email,
            buyer_accepts_marketing=customer.is_subscribed,
            created_at=self._ts(checkout.created_at),
            updated_at=self._ts(checkout.updated_at),
            landing_site="/",
            total_weight=sum(line.product.grams * line.quantity for line in checkout.lines),
            currency=shop.currency,
            completed_at=self._ts(checkout.completed_at),
            phone=customer.phone,
            customer_locale="en",
            line_items=lines,
            name=f"#{checkout.name_id}",
            abandoned_checkout_url=(
                f"https://{shop.domain}/{shop.shopify_id}/checkouts/{checkout.token}"
                f"/recover?key={checkout.recovery_key}"
            ),
            discount_codes=discount_codes,
            tax_lines=[],
            presentment_currency=shop.currency,
            total_discounts=_money(discounts),
            total_line_items_price=_money(line_total),
            total_price=_money(line_total - discounts),
            total_tax="0.00",
            subtotal_price=_money(line_total - discounts),
            billing_address=address,
            shipping_address=dict(address) if address else None,
            customer=self._order_customer(customer, "checkouts/create"),
        )

    def _fulfillment_line(
        self, line: _Line, item: _Template, *, quantity: int, fulfilled: bool
    ) -> dict[str, Any]:
        allocations = []
        if line.discount:
            allocations.append(
                {
                    "amount": _money(line.discount),
                    "discount_application_index": 0,
                    "amount_set": self._money_set(line.discount),
                }
            )
        return _fill(
            item,
            id=line.id,
            variant_id=line.variant.id,
            title=line.product.title,
            quantity=quantity,
            sku=line.variant.sku,
            variant_title=line.variant.title,
            vendor=line.product.vendor,
            product_id=line.product.id,
            name=self._line_name(line),
            variant_inventory_management="shopify",
            product_exists=True,
            fulfillable_quantity=0 if fulfilled else quantity,
            grams=line.product.grams,
            price=_money(line.product.price),
            total_discount="0.00",
            fulfillment_status="fulfilled" if fulfilled else None,
            price_set=self._money_set(line.product.price),
            total_discount_set=self._money_set(Decimal("0")),
            discount_allocations=allocations,
            admin_graphql_api_id=f"gid://shopify/LineItem/{line.id}",
        )

    @staticmethod
    def _line_name(line: _Line) -> str:
        if line.variant.title:
            return f"{line.product.title} - {line.variant.title}"
        return line.product.title

    def _fulfillment_payload(self, order: _Order, fulfillment: _Fulfillment) -> dict[str, Any]:
        payload = _part("fulfillments/create")
        lines = [
            self._fulfillment_line(
                line,
                _part("fulfillments/create", "line_items", 0),
                quantity=line.quantity,
                fulfilled=True,
            )
            for line in order.lines
        ]
        tracking_url = {
            "UPS": "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=",
            "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels=",
            "FedEx": "https://www.fedex.com/fedextrack/?trknbr=",
        }[fulfillment.tracking_company] + fulfillment.tracking_number
        return _fill(
            payload,
            id=fulfillment.id,
            order_id=order.id,
            status="success",
            created_at=self._ts(fulfillment.created_at),
            service="manual",
            updated_at=self._ts(fulfillment.updated_at),
            tracking_company=fulfillment.tracking_company,
            shipment_status=fulfillment.shipment_status,
            location_id=self.shop.location_id,
            email=order.customer.email,
            destination=dict(order.customer.address),
            line_items=lines,
            tracking_number=fulfillment.tracking_number,
            tracking_numbers=[fulfillment.tracking_number],
            tracking_url=tracking_url,
            tracking_urls=[tracking_url],
            name=fulfillment.name,
            admin_graphql_api_id=f"gid://shopify/Fulfillment/{fulfillment.id}",
        )

    def _refund_payload(self, order: _Order, refund: _Refund) -> dict[str, Any]:
        payload = _part("refunds/create")
        refund_lines = []
        for refund_line_id, line, quantity, subtotal in refund.lines:
            entry = _part("refunds/create", "refund_line_items", 0)
            item_template = _part("refunds/create", "refund_line_items", 0, "line_item")
            refund_lines.append(
                _fill(
                    entry,
                    id=refund_line_id,
                    quantity=quantity,
                    line_item_id=line.id,
                    location_id=self.shop.location_id if refund.restock else None,
                    restock_type="cancel"
                    if order.cancelled_at or not order.fulfillments
                    else ("return" if refund.restock else "no_restock"),
                    subtotal=float(subtotal),
                    total_tax=0.0,
                    subtotal_set=self._money_set(subtotal),
                    total_tax_set=self._money_set(Decimal("0")),
                    line_item=self._fulfillment_line(
                        line,
                        item_template,
                        quantity=line.quantity,
                        fulfilled=bool(order.fulfillments),
                    ),
                )
            )
        transaction = _fill(
            _part("refunds/create", "transactions", 0),
            id=refund.transaction_id,
            order_id=order.id,
            kind="refund",
            gateway=order.gateway,
            status="success",
            message="Bogus Gateway: Forced success" if order.is_test else "Refund processed",
            created_at=self._ts(refund.created_at),
            test=order.is_test,
            authorization=None,
            parent_id=order.sale_transaction_id,
            processed_at=self._ts(refund.created_at),
            source_name="web",
            amount=_money(refund.amount),
            currency=self.shop.currency,
            payment_id=f"{order.confirmation_number}.{order.refunds.index(refund) + 1}",
            total_unsettled_set={
                "presentment_money": {"amount": "0.0", "currency": self.shop.currency},
                "shop_money": {"amount": "0.0", "currency": self.shop.currency},
            },
            admin_graphql_api_id=f"gid://shopify/OrderTransaction/{refund.transaction_id}",
        )
        return _fill(
            payload,
            id=refund.id,
            order_id=order.id,
            created_at=self._ts(refund.created_at),
            note=refund.note,
            user_id=None,
            processed_at=self._ts(refund.created_at),
            restock=refund.restock,
            admin_graphql_api_id=f"gid://shopify/Refund/{refund.id}",
            refund_line_items=refund_lines,
            transactions=[transaction],
        )

    def _order_payload(self, order: _Order) -> dict[str, Any]:
        payload = _part("orders/create")
        shop = self.shop
        is_cancelled = order.cancelled_at is not None
        is_fulfilled = bool(order.fulfillments)
        lines = []
        refunded_lines = Decimal("0")
        for line in order.lines:
            item = _part("orders/create", "line_items", 0)
            current = 0 if is_cancelled else line.quantity - line.refunded_quantity
            refunded_lines += line.refund_subtotal(line.refunded_quantity)
            allocations = []
            if line.discount:
                allocations.append(
                    {
                        "amount": _money(line.discount),
                        "amount_set": self._money_set(line.discount),
                        "discount_application_index": 0,
                    }
                )
            lines.append(
                _fill(
                    item,
                    id=line.id,
                    admin_graphql_api_id=f"gid://shopify/LineItem/{line.id}",
                    attributed_staffs=[],
                    current_quantity=current,
                    fulfillable_quantity=0 if is_fulfilled or is_cancelled else line.quantity,
                    fulfillment_status="fulfilled" if is_fulfilled else None,
                    grams=line.product.grams,
                    name=self._line_name(line),
                    price=_money(line.product.price),
                    price_set=self._money_set(line.product.price),
                    product_id=line.product.id,
                    quantity=line.quantity,
                    sku=line.variant.sku,
                    title=line.product.title,
                    total_discount="0.00",
                    total_discount_set=self._money_set(Decimal("0")),
                    variant_id=line.variant.id,
                    variant_inventory_management="shopify",
                    variant_title=line.variant.title,
                    vendor=line.product.vendor,
                    discount_allocations=allocations,
                )
            )
        shipping = _fill(
            _part("orders/create", "shipping_lines", 0),
            id=order.shipping_line_id,
            code="Standard",
            current_discounted_price_set=self._money_set(
                Decimal("0") if is_cancelled else order.shipping
            ),
            discounted_price=_money(order.shipping),
            discounted_price_set=self._money_set(order.shipping),
            price=_money(order.shipping),
            price_set=self._money_set(order.shipping),
            title="Free Shipping" if not order.shipping else "Standard Shipping",
        )
        checkout = order.checkout
        discount_codes = []
        discount_applications = []
        if checkout.discount_code:
            discount_codes.append(
                {
                    "code": checkout.discount_code,
                    "amount": _money(order.discounts),
                    "type": "percentage",
                }
            )
            discount_applications.append(
                {
                    "target_type": "line_item",
                    "type": "discount_code",
                    "value": f"{checkout.discount_percent}.0",
                    "value_type": "percentage",
                    "allocation_method": "across",
                    "target_selection": "all",
                    "code": checkout.discount_code,
                }
            )
        if is_cancelled:
            current_subtotal = current_total = current_discounts = Decimal("0")
        else:
            current_subtotal = order.subtotal - refunded_lines
            current_total = order.total - order.refunded
            current_discounts = order.discounts
        outstanding = order.total if order.financial_status == "pending" else Decimal("0")
        customer = order.customer
        address = dict(customer.address)
        return _fill(
            payload,
            id=order.id,
            admin_graphql_api_id=f"gid://shopify/Order/{order.id}",
            app_id=580111,
            browser_ip=order.browser_ip,
            buyer_accepts_marketing=customer.is_subscribed,
            cancel_reason=order.cancel_reason,
            cancelled_at=self._ts(order.cancelled_at),
            cart_token=checkout.cart_token,
            checkout_token=checkout.token,
            confirmation_number=order.confirmation_number,
            confirmed=True,
            contact_email=customer.email,
            created_at=self._ts(order.created_at),
            currency=shop.currency,
            current_shipping_price_set=self._money_set(
                Decimal("0") if is_cancelled else order.shipping
            ),
            current_subtotal_price=_money(current_subtotal),
            current_subtotal_price_set=self._money_set(current_subtotal),
            current_total_discounts=_money(current_discounts),
            current_total_discounts_set=self._money_set(current_discounts),
            current_total_price=_money(current_total),
            current_total_price_set=self._money_set(current_total),
            current_total_tax="0.00",
            current_total_tax_set=self._money_set(Decimal("0")),
            customer_locale="en",
            discount_codes=discount_codes,
            email=customer.email,
            financial_status=order.financial_status,
            fulfillment_status=order.fulfillment_status,
            landing_site=order.landing_site,
            merchant_business_entity_id=base64.b64encode(str(shop.shopify_id).encode())
            .decode()
            .rstrip("="),
            name=order.name,
            number=order.number - 1000,
            order_number=order.number,
            order_status_url=(
                f"https://{shop.domain}/{shop.shopify_id}/orders/{order.token}"
                f"/authenticate?key={order.status_key}"
            ),
            payment_gateway_names=[order.gateway],
            phone=customer.phone,
            presentment_currency=shop.currency,
            processed_at=self._ts(order.created_at),
            referring_site=order.referring_site,
            source_name="web",
            subtotal_price=_money(order.subtotal),
            subtotal_price_set=self._money_set(order.subtotal),
            tags="",
            test=order.is_test,
            token=order.token,
            total_discounts=_money(order.discounts),
            total_discounts_set=self._money_set(order.discounts),
            total_line_items_price=_money(order.line_items_total),
            total_line_items_price_set=self._money_set(order.line_items_total),
            total_outstanding=_money(outstanding),
            total_price=_money(order.total),
            total_price_set=self._money_set(order.total),
            total_shipping_price_set=self._money_set(order.shipping),
            total_tax="0.00",
            total_tax_set=self._money_set(Decimal("0")),
            total_weight=sum(line.product.grams * line.quantity for line in order.lines),
            updated_at=self._ts(order.updated_at),
            billing_address=address,
            customer=self._order_customer(customer, "orders/create"),
            discount_applications=discount_applications,
            fulfillments=[self._fulfillment_payload(order, f) for f in order.fulfillments],
            line_items=lines,
            refunds=[self._refund_payload(order, refund) for refund in order.refunds],
            shipping_address=dict(address),
            shipping_lines=[shipping],
        )


def history(simulation: ShopSimulation) -> Iterator[DemoEvent]:
    """Yield *simulation*'s events up to and including its `now`."""
    for event in simulation:
        if event.occurred_at > simulation.now:
            return
        yield event


def event_to_json(event: DemoEvent) -> str:
    """Return *event* as one JSON line (no newline): occurred_at, topic, payload."""
    return json.dumps(
        {
            "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
            "topic": event.topic,
            "payload": event.payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def event_from_json(line: str) -> DemoEvent:
    """Parse one line written by `event_to_json`."""
    record = json.loads(line)
    occurred_at = datetime.fromisoformat(record["occurred_at"])
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must carry a UTC offset")
    return DemoEvent(occurred_at.astimezone(UTC), record["topic"], record["payload"])


def read_events(stream: TextIO) -> Iterator[DemoEvent]:
    """Yield the events of a JSONL stream written by `event_to_json`, skipping blank lines."""
    for line in stream:
        if line.strip():
            yield event_from_json(line)
