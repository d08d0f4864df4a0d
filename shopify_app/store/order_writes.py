"""The set-based writes of `order_batches`: every order of a call once, in a few statements.

The version rule is replayed in memory against the stored versions (one query), so each order is
written once, with the version applying them one by one would leave: customers (one query), orders
and lines with multi-row INSERT ... ON CONFLICT statements, and the checkouts the orders recovered
with one UPDATE. The ON CONFLICT update of an order repeats the version rule in SQL, so a newer
version a concurrent transaction stored in the meantime is kept.

Rows are written behind the ORM's back, so the orders, lines, customers and checkouts the session
holds are expired afterwards: the caller (the rollups first) reads what was written.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Hashable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import tuple_
from sqlalchemy import update
from sqlalchemy.orm import Session

from shopify_app.models import Checkout
from shopify_app.models import Customer
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Shop
from shopify_app.store.bulk_rows import chunks
from shopify_app.store.bulk_rows import columns_of
from shopify_app.store.bulk_rows import not_older
from shopify_app.store.bulk_rows import table_of
from shopify_app.store.bulk_rows import upsert_rows
from shopify_app.store.customers import SNAPSHOT_COLUMNS
from shopify_app.store.customers import CustomerSnapshot
from shopify_app.store.customers import apply_snapshot
from shopify_app.store.order_versions import ParsedOrder
from shopify_app.store.order_versions import order_row
from shopify_app.store.payloads import is_stale
from shopify_app.store.refunds import refunded_quantities

ORDER_KEY = ("shop_id", "shopify_id")
LINE_KEY = ("order_id", "shopify_id")


@dataclass(frozen=True)
class KeyedVersion:
    key: Hashable
    parsed: ParsedOrder


@dataclass(frozen=True)
class _Stored:
    id: int
    updated_at: datetime | None
    event_at: datetime | None
    currency: str
    checkout_token: str | None


@dataclass
class _Plan:
    """What applying the versions one by one, in the given order, would write."""

    winners: dict[int, ParsedOrder] = field(default_factory=dict)
    fallback_currency: dict[int, str] = field(default_factory=dict)
    snapshots: list[CustomerSnapshot] = field(default_factory=list)


def write_versions(
    session: Session, *, shop: Shop, versions: Sequence[KeyedVersion]
) -> dict[Hashable, int]:
    """Store the orders of *versions* (not their refunds or fulfillments); return their ids."""
    session.flush()
    shopify_ids = list(dict.fromkeys(version.parsed.shopify_id for version in versions))
    before = _stored_orders(session, shop_id=shop.id, shopify_ids=shopify_ids)
    plan = _plan(versions, stored=before, shop_currency=shop.currency)
    linked = _store_customers(session, shop=shop, snapshots=plan.snapshots)
    rows = [
        {
            "shop_id": shop.id,
            "shopify_id": shopify_id,
            "total_refunded": 0,
            **order_row(
                parsed,
                customer=linked[parsed.customer.shopify_id] if parsed.customer else None,
                fallback_currency=plan.fallback_currency[shopify_id],
            ),
        }
        for shopify_id, parsed in plan.winners.items()
    ]
    upsert_rows(session, Order, rows, key=ORDER_KEY, keep=("total_refunded",), where=not_older)
    after = _stored_orders(session, shop_id=shop.id, shopify_ids=shopify_ids)
    # A version the SQL rule kept out (a concurrent transaction stored a newer one) is not ours.
    written = {
        after[sid].id: parsed
        for sid, parsed in plan.winners.items()
        if (after[sid].updated_at, after[sid].event_at) == (parsed.updated_at, parsed.event_at)
    }
    replaced = {row.id for row in before.values()} & written.keys()
    gone = _write_lines(session, shop_id=shop.id, orders=written, replaced=replaced)
    tokens: dict[str, int] = {}
    for shopify_id in shopify_ids:
        token = after[shopify_id].checkout_token
        if token:
            tokens.setdefault(token, after[shopify_id].id)
    _link_checkouts(session, shop_id=shop.id, order_by_token=tokens)
    _expire_written(session, gone_lines=gone)
    return {version.key: after[version.parsed.shopify_id].id for version in versions}


def _plan(
    versions: Sequence[KeyedVersion], *, stored: Mapping[int, _Stored], shop_currency: str
) -> _Plan:
    """Replay the version rule: a version applies unless older than the one applied before it."""
    current = {sid: (row.updated_at, row.event_at) for sid, row in stored.items()}
    currency = {sid: row.currency for sid, row in stored.items()}
    plan = _Plan()
    for version in versions:
        parsed = version.parsed
        sid = parsed.shopify_id
        applied = current.get(sid)
        if applied is not None and is_stale(
            stored_updated_at=applied[0],
            stored_event_at=applied[1],
            updated_at=parsed.updated_at,
            event_at=parsed.event_at,
        ):
            continue
        current[sid] = (parsed.updated_at, parsed.event_at)
        fallback = currency.get(sid) or shop_currency
        currency[sid] = (parsed.currency or fallback)[:3]
        plan.winners[sid] = parsed
        plan.fallback_currency[sid] = fallback
        if parsed.customer is not None:
            plan.snapshots.append(parsed.customer)
    return plan


def _stored_orders(
    session: Session, *, shop_id: int, shopify_ids: Sequence[int]
) -> dict[int, _Stored]:
    stored: dict[int, _Stored] = {}
    for chunk in chunks(shopify_ids):
        for row in session.execute(
            select(
                Order.shopify_id,
                Order.id,
                Order.shopify_updated_at,
                Order.last_event_at,
                Order.currency,
                Order.checkout_token,
            ).where(Order.shop_id == shop_id, Order.shopify_id.in_(chunk))
        ):
            stored[row.shopify_id] = _Stored(
                row.id, row.shopify_updated_at, row.last_event_at, row.currency, row.checkout_token
            )
    return stored


def _store_customers(
    session: Session, *, shop: Shop, snapshots: Sequence[CustomerSnapshot]
) -> dict[int, Customer]:
    """Apply the snapshots in order to their customers, then write the changed ones at once.

    The customers are detached copies of the stored rows, so `customers.apply_snapshot` decides
    what changes, as on the single path, and nothing is flushed behind the upsert's back.
    """
    shopify_ids = list(dict.fromkeys(snapshot.shopify_id for snapshot in snapshots))
    found: dict[int, Customer] = {}
    for chunk in chunks(shopify_ids):
        for row in session.execute(
            select(*table_of(Customer).c).where(
                Customer.shop_id == shop.id, Customer.shopify_id.in_(chunk)
            )
        ):
            found[row.shopify_id] = Customer(**row._mapping)
    before = {sid: _snapshot_values(customer) for sid, customer in found.items()}
    for shopify_id in shopify_ids:
        found.setdefault(shopify_id, Customer(shop_id=shop.id, shopify_id=shopify_id))
    for snapshot in snapshots:
        apply_snapshot(found[snapshot.shopify_id], snapshot)
    rows = [
        {"shop_id": shop.id, "shopify_id": sid, **_snapshot_values(customer)}
        for sid, customer in found.items()
        if before.get(sid) != _snapshot_values(customer)
    ]
    upsert_rows(session, Customer, rows, key=("shop_id", "shopify_id"))
    new = [sid for sid, customer in found.items() if customer.id is None]
    for chunk in chunks(new):
        for shopify_id, customer_id in session.execute(
            select(Customer.shopify_id, Customer.id).where(
                Customer.shop_id == shop.id, Customer.shopify_id.in_(chunk)
            )
        ):
            found[shopify_id].id = customer_id
    return found


def _snapshot_values(customer: Customer) -> dict[str, Any]:
    return {name: getattr(customer, name) for name in SNAPSHOT_COLUMNS}


def _write_lines(
    session: Session,
    *,
    shop_id: int,
    orders: Mapping[int, ParsedOrder],
    replaced: Collection[int],
) -> list[int]:
    """Make each written order's lines those of its version; return the ids of removed lines.

    Only the *replaced* orders (stored before the call) can have lines or refunds already.
    """
    columns = columns_of(OrderLine)
    gone: list[int] = []
    refunded: dict[tuple[int, int], int] = {}
    for chunk in chunks(sorted(replaced)):
        kept = [
            (order_id, line.shopify_id) for order_id in chunk for line in orders[order_id].lines
        ]
        condition = [columns.order_id.in_(chunk)]
        if kept:
            condition.append(tuple_(columns.order_id, columns.shopify_id).not_in(kept))
        statement = delete(table_of(OrderLine)).where(*condition).returning(columns.id)
        gone.extend(session.execute(statement).scalars())
        refunded.update(refunded_quantities(session, order_ids=chunk))
    rows = [
        {
            "shop_id": shop_id,
            "order_id": order_id,
            "shopify_id": line.shopify_id,
            **line.columns,
            "refunded_quantity": refunded.get((order_id, line.shopify_id), 0),
        }
        for order_id, parsed in orders.items()
        for line in parsed.lines
    ]
    upsert_rows(session, OrderLine, rows, key=LINE_KEY, keep=("shop_id",))
    return gone


def _link_checkouts(session: Session, *, shop_id: int, order_by_token: Mapping[str, int]) -> None:
    """Mark the checkouts the orders came from as recovered by them (`orders.link_checkout`)."""
    columns = columns_of(Checkout)
    for chunk in chunks(list(order_by_token)):
        session.execute(
            update(table_of(Checkout))
            .where(
                columns.shop_id == shop_id,
                columns.token.in_(chunk),
                columns.recovered_order_id.is_(None),
            )
            .values(
                recovered_order_id=case({t: order_by_token[t] for t in chunk}, value=columns.token)
            )
        )


def _expire_written(session: Session, *, gone_lines: Sequence[int]) -> None:
    """Make the session read back what was written behind its back."""
    mapper = inspect(OrderLine)
    for line_id in gone_lines:
        line = session.identity_map.get(mapper.identity_key_from_primary_key((line_id,)))
        if line is not None:
            session.expunge(line)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Order | OrderLine | Checkout | Customer):
            session.expire(obj)
