"""Generate a seeded shop with N orders and M customers using bulk inserts, then build its rollups.

    .venv/bin/python -m bench.generate_shop --orders 1000000 --customers 200000 \\
        --database-url sqlite:///instance/bench-shop.sqlite3

The shape is plausible rather than real: customers arrive uniformly over three years, every
customer has a first order, the remaining orders go to customers with Pareto-distributed weights
(a few very loyal buyers, many one-time buyers), at uniform times after the customer's arrival.
About 2% of orders are guest orders by email, 0.3% anonymous, 0.5% test orders, 1% cancelled,
1% in another currency, 2% free; 3% are partly refunded; each order has one or two lines from
300 products. The same seed and end date always give the same shop.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from shopify_app import migrations_runner
from shopify_app.analytics.rollups.rebuild import rebuild_rollups
from shopify_app.db import Database
from shopify_app.models import Customer
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Refund
from shopify_app.models import Shop

DEFAULT_ORDERS = 1_000_000
DEFAULT_CUSTOMERS = 200_000
SPAN_DAYS = 3 * 365
PRODUCTS = 300
CHUNK = 20_000
SHOP_DOMAIN = "bench-dashboard.myshopify.com"


@dataclass(frozen=True)
class GeneratedShop:
    shop_id: int
    orders: int
    customers: int
    end: datetime
    insert_seconds: float
    rebuild_seconds: float


def generate_shop(
    database: Database,
    *,
    orders: int = DEFAULT_ORDERS,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = 42,
    end: datetime,
    timezone: str = "America/New_York",
) -> GeneratedShop:
    """Write the shop, customers, orders, lines and refunds, then rebuild its rollups."""
    if customers < 1 or orders < customers:
        raise ValueError("need at least one customer and at least one order per customer")
    started = time.perf_counter()
    with database.session_scope() as session:
        shop = Shop(
            domain=SHOP_DOMAIN,
            name="Bench shop",
            currency="USD",
            iana_timezone=timezone,
            installed_at=end - timedelta(days=SPAN_DAYS + 30),
        )
        session.add(shop)
        session.flush()
        shop_id = shop.id
    with database.engine.begin() as connection:
        _insert_rows(connection, shop_id, orders=orders, customers=customers, seed=seed, end=end)
        if connection.dialect.name == "postgresql":
            for table in ("customers", "orders", "order_lines", "refunds"):
                connection.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                    )
                )
    inserted = time.perf_counter()
    with database.session_scope() as session:
        rebuild_rollups(session, shop_id=shop_id, now=end)
    rebuilt = time.perf_counter()
    with database.engine.begin() as connection:
        connection.execute(sa.text("ANALYZE"))
    return GeneratedShop(
        shop_id=shop_id,
        orders=orders,
        customers=customers,
        end=end,
        insert_seconds=inserted - started,
        rebuild_seconds=rebuilt - inserted,
    )


def _insert_rows(
    connection: sa.Connection,
    shop_id: int,
    *,
    orders: int,
    customers: int,
    seed: int,
    end: datetime,
) -> None:
    rng = random.Random(seed)
    span = timedelta(days=SPAN_DAYS)
    start = end - span
    base = _next_id(connection, Customer)
    arrivals = [start + span * rng.random() for _ in range(customers)]
    emails = [f"buyer{i}@example.com" for i in range(customers)]
    _bulk(
        connection,
        Customer,
        (
            {
                "id": base + i,
                "shop_id": shop_id,
                "shopify_id": 10_000_000 + i,
                "email": emails[i],
                "created_at": arrivals[i],
            }
            for i in range(customers)
        ),
    )
    weights = [rng.paretovariate(1.2) for _ in range(customers)]
    owners = list(range(customers)) + rng.choices(range(customers), weights, k=orders - customers)
    product_weights = [1 / (rank + 1) for rank in range(PRODUCTS)]

    order_base = _next_id(connection, Order)
    line_base = _next_id(connection, OrderLine)
    refund_base = _next_id(connection, Refund)
    order_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    refund_rows: list[dict[str, Any]] = []
    line_id = line_base
    refund_id = refund_base
    for index, owner in enumerate(owners):
        order_id = order_base + index
        arrival = arrivals[owner]
        placed = arrival if index < customers else arrival + (end - arrival) * rng.random()
        roll = rng.random()
        customer_id: int | None = base + owner
        email: str | None = emails[owner]
        if roll < 0.02:
            customer_id = None
        elif roll < 0.023:
            customer_id, email = None, None
        amount = Decimal("0.00") if rng.random() < 0.02 else _amount(rng)
        cancelled = rng.random() < 0.01
        order_rows.append(
            {
                "id": order_id,
                "shop_id": shop_id,
                "shopify_id": 50_000_000 + index,
                "name": f"#{1000 + index}",
                "customer_id": customer_id,
                "email": email,
                "processed_at": placed,
                "currency": "CAD" if rng.random() < 0.01 else "USD",
                "total_price": amount,
                "total_refunded": Decimal("0"),
                "is_test": rng.random() < 0.005,
                "cancelled_at": placed + timedelta(hours=1) if cancelled else None,
                "created_at": placed,
            }
        )
        for product in set(
            rng.choices(range(1, PRODUCTS + 1), product_weights, k=1 if rng.random() < 0.8 else 2)
        ):
            line_rows.append(
                {
                    "id": line_id,
                    "shop_id": shop_id,
                    "order_id": order_id,
                    "shopify_id": 90_000_000 + line_id,
                    "product_id": product,
                    "title": f"Product {product}",
                    "quantity": 1,
                    "price": amount,
                }
            )
            line_id += 1
        refunded_at = placed + timedelta(days=5)
        if rng.random() < 0.03 and refunded_at < end and amount > 0:
            refund_rows.append(
                {
                    "id": refund_id,
                    "shop_id": shop_id,
                    "order_id": order_id,
                    "shopify_id": 70_000_000 + refund_id,
                    "processed_at": refunded_at,
                    "amount": (amount / 2).quantize(Decimal("0.01")),
                    "created_at": refunded_at,
                }
            )
            refund_id += 1
        if len(order_rows) >= CHUNK:
            _flush_orders(connection, order_rows, line_rows, refund_rows)
    _flush_orders(connection, order_rows, line_rows, refund_rows)


def _amount(rng: random.Random) -> Decimal:
    return Decimal(str(round(rng.lognormvariate(3.8, 0.6), 2))).quantize(Decimal("0.01"))


def _flush_orders(
    connection: sa.Connection,
    order_rows: list[dict[str, Any]],
    line_rows: list[dict[str, Any]],
    refund_rows: list[dict[str, Any]],
) -> None:
    tables: tuple[tuple[Any, list[dict[str, Any]]], ...] = (
        (Order, order_rows),
        (OrderLine, line_rows),
        (Refund, refund_rows),
    )
    for model, rows in tables:
        if rows:
            connection.execute(model.__table__.insert(), rows)
        rows.clear()


def _bulk(connection: sa.Connection, model: Any, rows: Iterator[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            connection.execute(model.__table__.insert(), batch)
            batch = []
    if batch:
        connection.execute(model.__table__.insert(), batch)


def _next_id(connection: sa.Connection, model: Any) -> int:
    return int(connection.scalar(sa.select(sa.func.coalesce(sa.func.max(model.id), 0))) or 0) + 1


def main(argv: Sequence[str] | None = None) -> GeneratedShop:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate_shop", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--orders", type=int, default=DEFAULT_ORDERS)
    parser.add_argument("--customers", type=int, default=None, help="default: orders / 5")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", required=True, help="an empty database; it is migrated")
    args = parser.parse_args(argv)
    customers = args.customers or max(1, args.orders // 5)
    migrations_runner.upgrade(args.database_url)
    database = Database(args.database_url)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    try:
        generated = generate_shop(
            database, orders=args.orders, customers=customers, seed=args.seed, end=end
        )
    finally:
        database.dispose()
    print(  # noqa: T201 - a command-line report
        f"shop {generated.shop_id}: {generated.orders} orders, {generated.customers} customers; "
        f"inserted in {generated.insert_seconds:.1f}s, rollups in {generated.rebuild_seconds:.1f}s"
    )
    return generated


if __name__ == "__main__":
    main()
