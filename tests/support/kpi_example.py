"""The worked example of docs/kpis.md, written as orders, and helpers to add orders and refunds."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.incremental import note_order_changed
from shopify_app.analytics.rollups.incremental import note_refund_recorded
from shopify_app.models import Customer
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Refund

NEW_YORK = ZoneInfo("America/New_York")
EXAMPLE_NOW = datetime(2026, 6, 15, 16, 0, tzinfo=UTC)
EXAMPLE_PERIOD = (date(2026, 2, 1), date(2026, 2, 28))
_ids = itertools.count(10_000)


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """Return an aware UTC datetime for a New York wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def add_customer(session: Session, shop_id: int, name: str) -> Customer:
    customer = Customer(shop_id=shop_id, shopify_id=next(_ids), first_name=name)
    session.add(customer)
    session.flush()
    return customer


def add_order(
    session: Session,
    shop_id: int,
    *,
    at: datetime,
    amount: str,
    customer: Customer | None = None,
    email: str | None = None,
    currency: str = "USD",
    is_test: bool = False,
    cancelled_at: datetime | None = None,
    products: tuple[int, ...] = (),
) -> Order:
    """Insert an order with the models and tell the rollups, as the order service does."""
    order = Order(
        shop_id=shop_id,
        shopify_id=next(_ids),
        customer_id=customer.id if customer else None,
        email=email,
        processed_at=at,
        currency=currency,
        total_price=Decimal(amount),
        is_test=is_test,
        cancelled_at=cancelled_at,
    )
    session.add(order)
    session.flush()
    for product_id in products:
        session.add(
            OrderLine(
                shop_id=shop_id,
                order_id=order.id,
                shopify_id=next(_ids),
                product_id=product_id,
                title=f"Product {product_id}",
                quantity=1,
                price=Decimal(amount),
            )
        )
    session.flush()
    note_order_changed(session, shop_id=shop_id, order_id=order.id)
    return order


def add_refund(session: Session, order: Order, *, at: datetime, amount: str) -> Refund:
    refund = Refund(
        shop_id=order.shop_id,
        order_id=order.id,
        shopify_id=next(_ids),
        processed_at=at,
        amount=Decimal(amount),
    )
    session.add(refund)
    session.flush()
    note_refund_recorded(session, shop_id=order.shop_id, refund_id=refund.id)
    return refund


@dataclass
class Example:
    shop_id: int
    orders: dict[str, Order]


def build_example(session: Session, shop_id: int) -> Example:
    """Write the orders of the worked example in docs/kpis.md for *shop_id*."""
    a = add_customer(session, shop_id, "A")
    b = add_customer(session, shop_id, "B")
    c = add_customer(session, shop_id, "C")
    e = add_customer(session, shop_id, "E")
    f = add_customer(session, shop_id, "F")
    orders: dict[str, Order] = {}
    orders["a1"] = add_order(
        session, shop_id, at=local(2025, 11, 10), amount="50.00", customer=a, products=(502,)
    )
    orders["a2"] = add_order(
        session, shop_id, at=local(2026, 2, 3), amount="100.00", customer=a, products=(501,)
    )
    orders["a3"] = add_order(
        session, shop_id, at=local(2026, 2, 3), amount="0.00", customer=a, products=(504,)
    )
    orders["a4"] = add_order(
        session, shop_id, at=local(2026, 2, 10), amount="40.00", customer=a, products=(501,)
    )
    add_refund(session, orders["a2"], at=local(2026, 2, 12), amount="30.00")
    orders["b1"] = add_order(
        session, shop_id, at=local(2026, 2, 5), amount="30.00", customer=b, products=(501,)
    )
    orders["b2"] = add_order(
        session, shop_id, at=local(2026, 3, 20), amount="25.00", customer=b, products=(503,)
    )
    add_refund(session, orders["b1"], at=local(2026, 3, 2), amount="5.00")
    orders["c1"] = add_order(
        session, shop_id, at=local(2026, 2, 28, 23, 30), amount="60.00", customer=c
    )
    orders["c_test"] = add_order(
        session, shop_id, at=local(2026, 2, 15), amount="999.00", customer=c, is_test=True
    )
    orders["c_cancelled"] = add_order(
        session,
        shop_id,
        at=local(2026, 2, 20),
        amount="70.00",
        customer=c,
        cancelled_at=local(2026, 2, 21),
    )
    add_refund(session, orders["c_cancelled"], at=local(2026, 2, 21), amount="70.00")
    orders["d1"] = add_order(
        session,
        shop_id,
        at=local(2026, 2, 14),
        amount="20.00",
        email="Guest@Example.com",
        products=(501,),
    )
    orders["d2"] = add_order(
        session,
        shop_id,
        at=local(2026, 2, 21),
        amount="20.00",
        email="guest@example.com ",
        products=(501,),
    )
    orders["e1"] = add_order(
        session, shop_id, at=local(2026, 1, 31, 23, 30), amount="10.00", customer=e
    )
    orders["e2"] = add_order(
        session, shop_id, at=local(2026, 2, 12), amount="80.00", customer=e, currency="CAD"
    )
    orders["f1"] = add_order(session, shop_id, at=local(2025, 2, 20), amount="15.00", customer=f)
    return Example(shop_id=shop_id, orders=orders)
