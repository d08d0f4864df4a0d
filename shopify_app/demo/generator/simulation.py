"""The demo shop's timeline: the shop opens, customers arrive and change their minds about email.

`ShopSimulation` puts the parts together: the demand model (`seasons`, `people`, `habits`) decides
who comes when and what they do, the actions (here, `checkouts`, `order_lifecycle`) change the
shop's facts on a `Timeline`, and the payload renderers write each change as its webhook.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from shopify_app.demo.generator.checkouts import Checkouts
from shopify_app.demo.generator.customer_payloads import consent_payload
from shopify_app.demo.generator.customer_payloads import customer_payload
from shopify_app.demo.generator.customer_payloads import shop_payload
from shopify_app.demo.generator.events import CONSENT_TOPIC
from shopify_app.demo.generator.events import DemoEvent
from shopify_app.demo.generator.facts import Customer
from shopify_app.demo.generator.facts import ShopProfile
from shopify_app.demo.generator.habits import ShoppingHabits
from shopify_app.demo.generator.ids import IdSource
from shopify_app.demo.generator.order_lifecycle import OrderLifecycle
from shopify_app.demo.generator.people import NewCustomers
from shopify_app.demo.generator.rendering import ShopFormat
from shopify_app.demo.generator.seasons import Arrivals
from shopify_app.demo.generator.seasons import DemandCurve
from shopify_app.demo.generator.timeline import Timeline
from shopify_app.demo.generator.world import World

FULL_STORE_CUSTOMERS = 5000
"""The demo store's size: about 89,000 events over two years, what `make run` plays."""


class ShopSimulation:
    """Simulate the demo shop from `now - history_days` onwards; iterate it once for its webhooks.

    *customers* is the number of customers who arrive during the history window (exactly); after
    *now* new customers keep arriving at the same seasonal rate, so the stream never ends.
    """

    def __init__(
        self,
        *,
        seed: int = 7,
        customers: int = FULL_STORE_CUSTOMERS,
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
        self._started = False
        self._world = self._build_world(random.Random(seed))
        self._arrivals = Arrivals(
            self._world.curve,
            count=customers,
            history_rng=random.Random(f"{seed}-arrivals"),
            live_rng=self._world.rng,
        )
        self._people = NewCustomers(self._world.rng, self._world.ids)
        self._checkouts = Checkouts(self._world, OrderLifecycle(self._world))

    def _build_world(self, rng: random.Random) -> World:
        fmt = ShopFormat(self.shop)
        curve = DemandCurve(start=self.start, now=self.now, tz=fmt.tz, rng=rng)
        return World(
            rng=rng,
            ids=IdSource(rng),
            curve=curve,
            habits=ShoppingHabits(rng, curve),
            timeline=Timeline(),
            fmt=fmt,
        )

    def __iter__(self) -> Iterator[DemoEvent]:
        if self._started:
            raise RuntimeError("a ShopSimulation can be iterated only once; create a new one")
        self._started = True
        return self._run()

    def _run(self) -> Iterator[DemoEvent]:
        timeline = self._world.timeline
        timeline.at(self.start, self._shop_update)
        timeline.at(self.start + timedelta(hours=2), self._open_shop)
        reopened_at = self.start + timedelta(days=self._world.rng.uniform(300, 420))
        timeline.at(reopened_at, self._shop_update)
        timeline.at(self._arrivals.first, functools.partial(self._arrive, index=0))
        yield from timeline.run()

    def _shop_update(self, at: datetime) -> Iterator[DemoEvent]:
        payload = shop_payload(self._world.fmt, at=at, history_start=self.start)
        yield DemoEvent(at, "shop/update", payload)

    def _open_shop(self, at: datetime) -> Iterator[DemoEvent]:
        # The merchant tries the checkout with the test gateway before launch, and now and then.
        shop = self.shop
        owner = self._people.new_customer(
            at, first=shop.owner_first_name, last=shop.owner_last_name, email=shop.email
        )
        owner.is_repeater = False
        owner.consent_state, owner.consent_level = "not_subscribed", "single_opt_in"
        yield DemoEvent(at, "customers/create", customer_payload(self._world.fmt, owner))
        test_checkout = self._checkouts.test_checkout
        timeline = self._world.timeline
        timeline.later(at, functools.partial(test_checkout, owner=owner, repeat=False), minutes=20)
        timeline.later(at, functools.partial(test_checkout, owner=owner, repeat=True), hours=3)

    def _arrive(self, at: datetime, *, index: int) -> Iterator[DemoEvent]:
        world = self._world
        customer = self._people.new_customer(at)
        yield DemoEvent(at, "customers/create", customer_payload(world.fmt, customer))
        yield DemoEvent(at, CONSENT_TOPIC, consent_payload(world.fmt, customer))
        change = world.habits.consent_change(customer, at=at)
        if change is not None:
            consent = functools.partial(self._change_consent, customer=customer, state=change.state)
            world.timeline.at(change.at, consent)
        self._checkouts.plan(customer, world.habits.first_purchase(at=at))
        following = index + 1
        next_at = self._arrivals.arrival(following, after=at)
        world.timeline.at(next_at, functools.partial(self._arrive, index=following))

    def _change_consent(
        self, at: datetime, *, customer: Customer, state: str
    ) -> Iterator[DemoEvent]:
        if customer.consent_state == state:
            return
        customer.consent_state = state
        customer.consent_updated_at = at
        customer.updated_at = at
        yield DemoEvent(at, CONSENT_TOPIC, consent_payload(self._world.fmt, customer))
        yield DemoEvent(at, "customers/update", customer_payload(self._world.fmt, customer))


def history(simulation: ShopSimulation) -> Iterator[DemoEvent]:
    """Yield *simulation*'s events up to and including its `now`."""
    for event in simulation:
        if event.occurred_at > simulation.now:
            return
        yield event
