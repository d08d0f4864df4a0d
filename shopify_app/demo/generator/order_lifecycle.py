"""What happens to an order once placed: payment, a cancellation, the parcel, now and then a refund.

Most orders are paid by card and ship within two days; a bank deposit arrives later or the order
is cancelled; parcels arrive a few days after they ship; a few customers ask for money back.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from shopify_app.demo.generator.events import DemoEvent
from shopify_app.demo.generator.facts import Fulfillment
from shopify_app.demo.generator.facts import Line
from shopify_app.demo.generator.facts import Order
from shopify_app.demo.generator.facts import Refund
from shopify_app.demo.generator.facts import RefundLine
from shopify_app.demo.generator.fulfillment_payloads import fulfillment_payload
from shopify_app.demo.generator.order_payloads import order_payload
from shopify_app.demo.generator.refund_payloads import refund_payload
from shopify_app.demo.generator.world import World

_REFUND_NOTES = ("Damaged in transit", "Wrong grind", "Customer changed their mind")


class OrderLifecycle:
    """Schedule and play out what happens to placed orders."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._rng = world.rng
        self._timeline = world.timeline

    def follow(self, at: datetime, order: Order) -> None:
        """Schedule what happens next to *order*, placed at *at*."""
        rng, timeline = self._rng, self._timeline
        if order.is_test:
            if rng.random() < 0.5:
                cancel = functools.partial(self.cancel, order=order, reason="other")
                timeline.later(at, cancel, minutes=rng.uniform(2, 30))
            return
        if order.financial_status == "pending":
            if rng.random() < 0.88:
                mark_paid = functools.partial(self.mark_paid, order=order)
                timeline.later(at, mark_paid, hours=rng.uniform(4, 60))
            else:
                cancel = functools.partial(self.cancel, order=order, reason="declined")
                timeline.later(at, cancel, days=rng.uniform(3, 7))
        elif rng.random() < 0.015:
            cancel = functools.partial(self.cancel, order=order, reason="customer")
            timeline.later(at, cancel, hours=rng.uniform(0.5, 10))
        else:
            self._ship_in_days(at, order, rng.uniform(0.6, 2.2))

    def mark_paid(self, at: datetime, *, order: Order) -> Iterator[DemoEvent]:
        """Record the late payment of a pending *order*, then ship it."""
        if order.is_cancelled:
            return
        order.financial_status = "paid"
        order.updated_at = at
        yield DemoEvent(at, "orders/updated", order_payload(self._world.fmt, order))
        self._ship_in_days(at, order, self._rng.uniform(0.5, 2))

    def cancel(self, at: datetime, *, order: Order, reason: str) -> Iterator[DemoEvent]:
        """Cancel an unshipped *order*, refunding it in full if it was paid."""
        if order.is_cancelled or order.fulfillments:
            return
        if order.financial_status == "paid":
            refund_lines = self._refund_lines([(line, line.quantity) for line in order.lines])
            refund = self._record_refund(
                at, order, refund_lines, include_shipping=True, note=None, restock=True
            )
            yield DemoEvent(at, "refunds/create", refund_payload(self._world.fmt, order, refund))
            order.financial_status = "refunded"
        else:
            order.financial_status = "voided"
        order.cancelled_at = at
        order.cancel_reason = reason
        order.updated_at = at
        yield DemoEvent(at, "orders/cancelled", order_payload(self._world.fmt, order))

    def fulfill(self, at: datetime, *, order: Order) -> Iterator[DemoEvent]:
        """Ship *order* in one parcel, then schedule its delivery."""
        if order.is_cancelled:
            return
        fulfillment = self._new_fulfillment(at, order)
        order.fulfillments.append(fulfillment)
        order.fulfillment_status = "fulfilled"
        fmt = self._world.fmt
        yield DemoEvent(at, "fulfillments/create", fulfillment_payload(fmt, order, fulfillment))
        order.updated_at = at
        yield DemoEvent(at, "orders/updated", order_payload(fmt, order))
        deliver = functools.partial(self.deliver, order=order, fulfillment=fulfillment)
        self._timeline.at(self._world.curve.in_days(at, self._rng.uniform(1.5, 5.5)), deliver)

    def deliver(
        self, at: datetime, *, order: Order, fulfillment: Fulfillment
    ) -> Iterator[DemoEvent]:
        """Mark the parcel delivered; now and then the customer asks for a refund later."""
        fulfillment.shipment_status = "delivered"
        fulfillment.updated_at = at
        payload = fulfillment_payload(self._world.fmt, order, fulfillment)
        yield DemoEvent(at, "fulfillments/update", payload)
        if self._rng.random() < 0.045:
            refund_at = self._world.curve.in_days(at, self._rng.uniform(2, 20))
            self._timeline.at(refund_at, functools.partial(self.refund, order=order))

    def refund(self, at: datetime, *, order: Order) -> Iterator[DemoEvent]:
        """Refund one unit of a delivered *order*, or take back everything not yet refunded."""
        rng = self._rng
        open_lines = [line for line in order.lines if line.refunded_quantity < line.quantity]
        if not open_lines:
            return
        if rng.random() < 0.7:
            chosen = [(rng.choice(open_lines), 1)]
            note = rng.choice(_REFUND_NOTES)
        else:
            chosen = [(line, line.quantity - line.refunded_quantity) for line in open_lines]
            note = "Returned"
        refund = self._record_refund(
            at,
            order,
            self._refund_lines(chosen),
            include_shipping=False,
            note=note,
            restock=note == "Returned",
        )
        fmt = self._world.fmt
        yield DemoEvent(at, "refunds/create", refund_payload(fmt, order, refund))
        order.financial_status = "refunded" if order.is_fully_refunded else "partially_refunded"
        order.updated_at = at
        yield DemoEvent(at, "orders/updated", order_payload(fmt, order))

    def _ship_in_days(self, at: datetime, order: Order, days: float) -> None:
        ship_at = self._world.curve.in_days(at, days)
        self._timeline.at(ship_at, functools.partial(self.fulfill, order=order))

    def _new_fulfillment(self, at: datetime, order: Order) -> Fulfillment:
        ids = self._world.ids
        company = self._rng.choice(("UPS", "USPS", "FedEx"))
        fulfillment_id = ids.new_id("fulfillment")
        if company == "UPS":
            tracking_number = "1Z" + ids.hex_token(64).upper()[:16]
        else:
            tracking_number = str(self._rng.randrange(10**19, 10**20))
        return Fulfillment(
            id=fulfillment_id,
            name=f"{order.name}.{len(order.fulfillments) + 1}",
            created_at=at,
            updated_at=at,
            tracking_company=company,
            tracking_number=tracking_number,
        )

    def _refund_lines(self, chosen: list[tuple[Line, int]]) -> list[RefundLine]:
        ids = self._world.ids
        return [
            RefundLine(ids.new_id("refund_line"), line, quantity, line.refund_subtotal(quantity))
            for line, quantity in chosen
        ]

    def _record_refund(
        self,
        at: datetime,
        order: Order,
        refund_lines: list[RefundLine],
        *,
        include_shipping: bool,
        note: str | None,
        restock: bool,
    ) -> Refund:
        amount = sum((refund_line.subtotal for refund_line in refund_lines), Decimal("0"))
        if include_shipping:
            amount += order.shipping
        for refund_line in refund_lines:
            refund_line.line.refunded_quantity += refund_line.quantity
        ids = self._world.ids
        refund = Refund(
            id=ids.new_id("refund"),
            created_at=at,
            lines=refund_lines,
            amount=amount,
            transaction_id=ids.new_id("transaction"),
            note=note,
            restock=restock,
        )
        order.refunds.append(refund)
        return refund
