"""Checkouts as they play out: started, left or paid, sometimes recovered, then become orders.

A paid checkout becomes an order whose lifecycle `OrderLifecycle` plays out, and the buyer's
next purchase is planned from what they bought (see `ShoppingHabits`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from shopify_app.demo.generator.checkout_payloads import checkout_payload
from shopify_app.demo.generator.events import DemoEvent
from shopify_app.demo.generator.facts import Basket
from shopify_app.demo.generator.facts import Checkout
from shopify_app.demo.generator.facts import Customer
from shopify_app.demo.generator.facts import Line
from shopify_app.demo.generator.facts import Order
from shopify_app.demo.generator.facts import lines_total
from shopify_app.demo.generator.habits import Purchase
from shopify_app.demo.generator.order_lifecycle import OrderLifecycle
from shopify_app.demo.generator.order_payloads import order_payload
from shopify_app.demo.generator.world import World
from shopify_app.money import to_cents

_FREE_SHIPPING_FROM = Decimal("50.00")
_SHIPPING_PRICE = Decimal("5.90")
_CONFIRMATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_LANDING_SITES = ("/", "/", "/collections/coffee", "/products/house-blend")
_REFERRING_SITES = ("https://www.google.com/", "https://www.instagram.com/", "", None)


class Checkouts:
    """Schedule and play out customers' checkouts, and hand the orders to *orders*."""

    def __init__(self, world: World, orders: OrderLifecycle) -> None:
        self._world = world
        self._rng = world.rng
        self._habits = world.habits
        self._timeline = world.timeline
        self._orders = orders

    def plan(self, customer: Customer, purchase: Purchase) -> None:
        """Schedule the checkout of *purchase*; a planned one is the customer's next purchase."""
        if purchase.is_planned:
            customer.has_planned_purchase = True
        start = functools.partial(
            self.start_checkout,
            customer=customer,
            basket=purchase.basket,
            is_reorder=purchase.is_reorder,
            is_planned=purchase.is_planned,
        )
        self._timeline.at(purchase.at, start)

    def test_checkout(self, at: datetime, *, owner: Customer, repeat: bool) -> Iterator[DemoEvent]:
        """Pay a checkout with the test gateway, as a merchant trying their shop does."""
        checkout = self._new_checkout(at, owner, self._habits.first_basket(), is_test=True)
        yield DemoEvent(at, "checkouts/create", checkout_payload(self._world.fmt, checkout))
        complete = functools.partial(self.complete_checkout, checkout=checkout)
        self._timeline.later(at, complete, minutes=3)
        if repeat:
            next_test = self._world.curve.in_days(at, self._rng.uniform(90, 200))
            again = functools.partial(self.test_checkout, owner=owner, repeat=True)
            self._timeline.at(next_test, again)

    def start_checkout(
        self,
        at: datetime,
        *,
        customer: Customer,
        basket: Basket,
        is_reorder: bool,
        is_planned: bool = True,
    ) -> Iterator[DemoEvent]:
        """Start a checkout of *basket*, then have it paid a few minutes later or left."""
        if is_planned:
            customer.has_planned_purchase = False
        checkout = self._new_checkout(at, customer, basket, is_reorder=is_reorder)
        yield DemoEvent(at, "checkouts/create", checkout_payload(self._world.fmt, checkout))
        minutes = self._habits.minutes_to_pay(checkout)
        if minutes is None:
            self._follow_abandoned(at, checkout, basket)
        else:
            complete = functools.partial(self.complete_checkout, checkout=checkout)
            self._timeline.later(at, complete, minutes=minutes)

    def touch_checkout(self, at: datetime, *, checkout: Checkout) -> Iterator[DemoEvent]:
        """Record the shipping address a buyer typed before leaving the checkout."""
        if checkout.completed_at is not None:
            return
        checkout.has_shipping_address = True
        checkout.updated_at = at
        yield DemoEvent(at, "checkouts/update", checkout_payload(self._world.fmt, checkout))

    def complete_checkout(self, at: datetime, *, checkout: Checkout) -> Iterator[DemoEvent]:
        """Pay *checkout*: place its order, follow the order, plan the buyer's next purchase."""
        checkout.completed_at = at
        checkout.updated_at = at
        checkout.has_shipping_address = True
        checkout.customer.orders += 1
        checkout.customer.updated_at = at
        order = self._place_order(at, checkout)
        yield DemoEvent(at, "orders/create", order_payload(self._world.fmt, order))
        completed = functools.partial(self.checkout_completed, checkout=checkout)
        self._timeline.later(at, completed, seconds=self._rng.uniform(1, 4))
        self._orders.follow(at, order)
        if not order.is_test:
            self._plan_next_purchase(at, order)

    def checkout_completed(self, at: datetime, *, checkout: Checkout) -> Iterator[DemoEvent]:
        """Send the checkout's last update, as Shopify does just after the order."""
        checkout.updated_at = at
        yield DemoEvent(at, "checkouts/update", checkout_payload(self._world.fmt, checkout))

    def _follow_abandoned(self, at: datetime, checkout: Checkout, basket: Basket) -> None:
        habits, timeline = self._habits, self._timeline
        minutes = habits.minutes_to_add_address()
        if minutes is not None:
            touch = functools.partial(self.touch_checkout, checkout=checkout)
            timeline.later(at, touch, minutes=minutes)
        hours = habits.hours_to_recover()
        if hours is not None:
            # Recovered: the buyer comes back to the same checkout (often from a reminder).
            complete = functools.partial(self.complete_checkout, checkout=checkout)
            timeline.later(at, complete, hours=hours)
        elif checkout.is_reorder:
            customer = checkout.customer
            retry = habits.reorder_retry(basket, at=at)
            if retry is None:
                retry = habits.reorder(customer, checkout.lines, at=at)
            self.plan(customer, retry)

    def _plan_next_purchase(self, at: datetime, order: Order) -> None:
        customer = order.customer
        for repeat in self._habits.durable_repeats(order, at=at):
            self.plan(customer, repeat)
        if customer.has_planned_purchase:
            return
        purchase = self._habits.next_purchase(order, at=at)
        if purchase is not None:
            self.plan(customer, purchase)

    def _new_checkout(
        self,
        at: datetime,
        customer: Customer,
        basket: Basket,
        *,
        is_reorder: bool = False,
        is_test: bool = False,
    ) -> Checkout:
        ids = self._world.ids
        is_first = customer.orders == 0
        code, percent = self._habits.discount(at=at, is_first=is_first, is_test=is_test)
        lines = [
            Line(id=ids.new_id("line"), product=product, variant=variant, quantity=quantity)
            for product, variant, quantity in basket
        ]
        if percent:
            _allocate_discount(lines, percent)
        return Checkout(
            token=ids.hex_token(),
            cart_token=ids.hex_token(),
            recovery_key=ids.hex_token(),
            name_id=ids.new_id("checkout"),
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

    def _place_order(self, at: datetime, checkout: Checkout) -> Order:
        ids, rng = self._world.ids, self._rng
        gateway, status = self._habits.payment(checkout)
        order = Order(
            id=ids.new_id("order"),
            number=ids.new_order_number(),
            token=ids.hex_token(),
            status_key=ids.hex_token(),
            confirmation_number="".join(rng.choices(_CONFIRMATION_ALPHABET, k=9)),
            customer=checkout.customer,
            checkout=checkout,
            lines=checkout.lines,
            shipping_line_id=ids.new_id("shipping_line"),
            shipping=Decimal("0.00"),
            gateway=gateway,
            sale_transaction_id=ids.new_id("transaction"),
            created_at=at,
            updated_at=at,
            financial_status=status,
            landing_site=rng.choice(_LANDING_SITES),
            referring_site=rng.choice(_REFERRING_SITES),
            browser_ip=f"198.51.100.{rng.randint(1, 254)}",
            is_test=checkout.is_test,
        )
        if order.subtotal < _FREE_SHIPPING_FROM:
            order.shipping = _SHIPPING_PRICE
        return order


def _allocate_discount(lines: list[Line], percent: int) -> None:
    """Share a *percent* discount across *lines* by their totals; the last line takes the rest."""
    total = lines_total(lines)
    discount = to_cents(total * percent / 100)
    left = discount
    for line in lines[:-1]:
        line.discount = to_cents(discount * line.total / total)
        left -= line.discount
    lines[-1].discount = left
