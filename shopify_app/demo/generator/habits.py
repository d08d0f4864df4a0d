"""What people buy and when they come back: baskets, codes, payment, abandonment and reorders.

Consumables (beans, filters) run out at about the product's interval, scaled by the customer's
own pace; repeaters come back for them while their loyalty holds. Durables (grinders, kettles)
rarely sell twice but often bring the buyer back for beans. A share of checkouts is abandoned, and
some of those are recovered later under the same token. Every decision draws from the
simulation's one random generator, so the order of the calls is part of the stream.
"""

from __future__ import annotations

import random
from datetime import datetime
from datetime import timedelta
from typing import NamedTuple

from shopify_app.demo.catalog import CONSUMABLES
from shopify_app.demo.catalog import DURABLES
from shopify_app.demo.catalog import Product
from shopify_app.demo.generator.facts import Basket
from shopify_app.demo.generator.facts import BasketItem
from shopify_app.demo.generator.facts import Checkout
from shopify_app.demo.generator.facts import Customer
from shopify_app.demo.generator.facts import Line
from shopify_app.demo.generator.facts import Order
from shopify_app.demo.generator.seasons import DemandCurve


class Purchase(NamedTuple):
    """A checkout a customer will start: what, when, and whether it repeats an earlier order.

    A planned purchase is the customer's next one (they have at most one planned at a time);
    an unplanned one (a second kettle, a gift) comes on top.
    """

    basket: Basket
    at: datetime
    is_reorder: bool
    is_planned: bool = True


class ConsentChange(NamedTuple):
    """A customer's later change of mind about email marketing."""

    at: datetime
    state: str


class ShoppingHabits:
    """Decide what customers buy, how they pay and when they come back."""

    def __init__(self, rng: random.Random, curve: DemandCurve) -> None:
        self._rng = rng
        self._curve = curve

    # -- baskets --------------------------------------------------------------------------------

    def pick_products(self, pool: tuple[Product, ...], count: int) -> list[Product]:
        """Return *count* different products of *pool*, the popular ones more often."""
        chosen: list[Product] = []
        while len(chosen) < min(count, len(pool)):
            product = self._rng.choices(pool, weights=[p.popularity for p in pool])[0]
            if product not in chosen:
                chosen.append(product)
        return chosen

    def basket(self, products: list[Product]) -> Basket:
        """Return *products* with a variant each, and two bags of a consumable now and then."""
        rng = self._rng
        basket = []
        for product in products:
            quantity = 1
            if product.is_consumable and rng.random() < 0.22:
                quantity = 2
            basket.append(BasketItem(product, rng.choice(product.variants), quantity))
        return basket

    def first_basket(self) -> Basket:
        """Return what a new customer buys: mostly beans, or a brewer, sometimes both."""
        rng = self._rng
        roll = rng.random()
        if roll < 0.55:
            products = self.pick_products(CONSUMABLES, 1 if rng.random() < 0.7 else 2)
            if rng.random() < 0.2:
                products += self.pick_products(DURABLES, 1)
        elif roll < 0.85:
            products = self.pick_products(DURABLES, 1)
            if rng.random() < 0.35:
                products += self.pick_products(CONSUMABLES, 1)
        else:
            products = self.pick_products(DURABLES, 2)
        return self.basket(products)

    # -- coming back ----------------------------------------------------------------------------

    def first_purchase(self, *, at: datetime) -> Purchase:
        """Return the checkout a customer who signed up at *at* starts a few minutes later."""
        basket = self.first_basket()
        starts_at = at + timedelta(seconds=self._rng.uniform(20, 240))
        return Purchase(basket, starts_at, is_reorder=False)

    def durable_repeats(self, order: Order, *, at: datetime) -> list[Purchase]:
        """Return the rare second durables of *order* (one for the office, a gift)."""
        rng = self._rng
        repeats = []
        for line in order.lines:
            if not line.product.is_consumable and rng.random() < 0.02:
                basket = [BasketItem(line.product, line.variant, 1)]
                repeat_at = self._curve.in_days(at, rng.uniform(60, 400))
                repeats.append(Purchase(basket, repeat_at, is_reorder=False, is_planned=False))
        return repeats

    def next_purchase(self, order: Order, *, at: datetime) -> Purchase | None:
        """Return the purchase the buyer of *order* plans next, or None if they do not return."""
        rng = self._rng
        customer = order.customer
        consumables = [line for line in order.lines if line.product.is_consumable]
        if consumables:
            if customer.is_repeater and (customer.orders == 1 or rng.random() < customer.loyalty):
                return self.reorder(customer, consumables, at=at)
            if rng.random() < 0.12:
                basket = self.first_basket()
                return Purchase(
                    basket, self._curve.in_days(at, rng.uniform(30, 200)), is_reorder=False
                )
            return None
        if rng.random() < 0.3:
            # Bought a grinder or a press: many come back for beans.
            basket = self.basket(self.pick_products(CONSUMABLES, 1))
            return Purchase(basket, self._curve.in_days(at, rng.uniform(3, 45)), is_reorder=False)
        return None

    def reorder(self, customer: Customer, lines: list[Line], *, at: datetime) -> Purchase:
        """Return the reorder of *lines* once they run out, sometimes with one more coffee."""
        rng = self._rng
        lasts = min((line.product.reorder_days or 30) * line.quantity for line in lines)
        days = lasts * customer.pace * rng.lognormvariate(0.0, 0.18)
        basket = [BasketItem(line.product, line.variant, line.quantity) for line in lines]
        if rng.random() < 0.15:
            extra = self.pick_products(CONSUMABLES, 1)[0]
            if all(extra is not item.product for item in basket):
                basket.append(BasketItem(extra, rng.choice(extra.variants), 1))
        return Purchase(basket, self._curve.in_days(at, days), is_reorder=True)

    def consent_change(self, customer: Customer, *, at: datetime) -> ConsentChange | None:
        """Return how the consent *customer* gave at sign-up changes later, if it does."""
        rng = self._rng
        if customer.consent_state == "pending":
            if rng.random() < 0.75:
                hours = rng.uniform(0.2, 30)
                return ConsentChange(at + timedelta(hours=hours), "subscribed")
        elif customer.is_subscribed and rng.random() < 0.08:
            return ConsentChange(self._curve.in_days(at, rng.uniform(20, 500)), "unsubscribed")
        elif customer.consent_state == "not_subscribed" and rng.random() < 0.05:
            return ConsentChange(self._curve.in_days(at, rng.uniform(5, 300)), "subscribed")
        return None

    # -- at the checkout ------------------------------------------------------------------------

    def discount(self, *, at: datetime, is_first: bool, is_test: bool) -> tuple[str | None, int]:
        """Return the discount code a checkout at *at* uses and its percentage (None, 0 if none)."""
        rng = self._rng
        if self._curve.is_holiday_sale(at) and rng.random() < 0.6:
            return "BFCM20", 20
        if is_first and not is_test and rng.random() < 0.25:
            return "WELCOME10", 10
        if rng.random() < 0.04:
            return "COFFEELOVER15", 15
        return None, 0

    def minutes_to_pay(self, checkout: Checkout) -> float | None:
        """Return how long the buyer takes to pay, or None if they leave the checkout."""
        abandon_share = 0.3 if checkout.is_first_purchase else 0.15
        if self._rng.random() >= abandon_share:
            return self._rng.uniform(2, 15)
        return None

    def minutes_to_add_address(self) -> float | None:
        """Return when a leaving buyer had typed their address, or None if they never did."""
        return self._rng.uniform(1, 12) if self._rng.random() < 0.6 else None

    def hours_to_recover(self) -> float | None:
        """Return when a left checkout is completed after all (often after a reminder), or None."""
        rng = self._rng
        if rng.random() < 0.22:
            return rng.choice((rng.uniform(1, 6), rng.uniform(6, 30), rng.uniform(30, 96)))
        return None

    def reorder_retry(self, basket: Basket, *, at: datetime) -> Purchase | None:
        """Return the second try of a reorder left at *at*, or None if the customer waits."""
        rng = self._rng
        if rng.random() < 0.5:
            return Purchase(basket, self._curve.in_days(at, rng.uniform(1, 6)), is_reorder=True)
        return None

    def payment(self, checkout: Checkout) -> tuple[str, str]:
        """Return the gateway a checkout is paid with and the order's first financial status."""
        if checkout.is_test:
            return "bogus", "paid"
        if self._rng.random() < 0.9:
            return "shopify_payments", "paid"
        return "Bank Deposit", "pending"
