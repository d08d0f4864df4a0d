"""The refunds and fulfillments nested in a call's order versions, merged in a few statements.

`order_writes` stores the orders; this merges what their versions carry, from every version of
the call, stale or not, as `orders.store_order_version` does one version at a time: a refund is
stored once by its id (the first version carrying it wins, a stored one is kept), a fulfillment
takes each of its versions by its own rule (`fulfillments.FulfillmentVersion.applied_to`, replayed
in memory against the stored rows read in one query). The orders that gained refunds then get
their refund totals, as `refunds.refresh_refund_totals` computes them, set-wise.

A refund dated by neither `processed_at` nor `created_at` takes its order's `processed_at` at the
time the single path stores it, which depends on the versions applied before: `order_batches`
leaves such orders to the single path.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Hashable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from shopify_app.models import Fulfillment
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Refund
from shopify_app.models import RefundLine
from shopify_app.models import Shop
from shopify_app.models.upsert import conflict_insert
from shopify_app.store.bulk_rows import chunks
from shopify_app.store.bulk_rows import columns_of
from shopify_app.store.bulk_rows import not_older
from shopify_app.store.bulk_rows import table_of
from shopify_app.store.bulk_rows import upsert_rows
from shopify_app.store.fulfillments import COLUMNS as FULFILLMENT_COLUMNS
from shopify_app.store.order_writes import KeyedVersion
from shopify_app.store.refunds import RefundVersion
from shopify_app.store.refunds import refund_totals
from shopify_app.store.refunds import refunded_quantities

KEY = ("shop_id", "shopify_id")


def write_nested_facts(
    session: Session,
    *,
    shop: Shop,
    versions: Sequence[KeyedVersion],
    order_ids: Mapping[Hashable, int],
) -> None:
    """Merge the refunds and fulfillments of *versions*, whose orders have the ids *order_ids*.

    Every refund carries its own date (see the module's docstring).
    """
    nested = [version for version in versions if version.parsed.has_nested_facts]
    if not nested:
        return
    refunded = _insert_refunds(session, shop_id=shop.id, versions=nested, order_ids=order_ids)
    _merge_fulfillments(session, shop_id=shop.id, versions=nested, order_ids=order_ids)
    _refresh_refund_totals(session, order_ids=refunded)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Order | OrderLine | Refund | RefundLine | Fulfillment):
            session.expire(obj)


def _insert_refunds(
    session: Session,
    *,
    shop_id: int,
    versions: Sequence[KeyedVersion],
    order_ids: Mapping[Hashable, int],
) -> set[int]:
    """Insert the refunds not stored yet, with their lines; return the orders that gained some."""
    first: dict[int, tuple[int, RefundVersion]] = {}
    for version in versions:
        for refund in version.parsed.refunds:
            first.setdefault(refund.shopify_id, (order_ids[version.key], refund))
    stored = _stored(session, Refund, shop_id=shop_id, shopify_ids=list(first), columns=())
    rows = [
        {"shop_id": shop_id, "order_id": order_id, **refund.row(fallback_at=None)}
        for shopify_id, (order_id, refund) in first.items()
        if shopify_id not in stored
    ]
    if not rows:
        return set()
    statement = (
        conflict_insert(session, table_of(Refund))
        .on_conflict_do_nothing(index_elements=list(KEY))
        .returning(columns_of(Refund).id, columns_of(Refund).shopify_id)
    )
    inserted = {shopify_id: refund_id for refund_id, shopify_id in session.execute(statement, rows)}
    lines = [
        {"refund_id": refund_id, **line}
        for shopify_id, refund_id in inserted.items()
        for line in first[shopify_id][1].lines
    ]
    if lines:
        session.execute(insert(table_of(RefundLine)), lines)
    return {first[shopify_id][0] for shopify_id in inserted}


def _merge_fulfillments(
    session: Session,
    *,
    shop_id: int,
    versions: Sequence[KeyedVersion],
    order_ids: Mapping[Hashable, int],
) -> None:
    """Apply every fulfillment version in the call's order to the stored ones, then write them."""
    shopify_ids = list(
        dict.fromkeys(f.shopify_id for version in versions for f in version.parsed.fulfillments)
    )
    stored = _stored(
        session, Fulfillment, shop_id=shop_id, shopify_ids=shopify_ids, columns=FULFILLMENT_COLUMNS
    )
    state: dict[int, dict[str, Any]] = dict(stored)
    order_of: dict[int, int] = {}
    for version in versions:
        for fulfillment in version.parsed.fulfillments:
            sid = fulfillment.shopify_id
            state[sid] = fulfillment.applied_to(state.get(sid))
            order_of.setdefault(sid, order_ids[version.key])
    rows = [
        {"shop_id": shop_id, "shopify_id": sid, "order_id": order_of[sid], **columns}
        for sid, columns in state.items()
        if stored.get(sid) != columns
    ]
    upsert_rows(session, Fulfillment, rows, key=KEY, keep=("order_id",), where=not_older)


def _stored(
    session: Session,
    model: Any,
    *,
    shop_id: int,
    shopify_ids: Sequence[int],
    columns: Sequence[str],
) -> dict[int, dict[str, Any]]:
    """Return the *columns* of *model*'s stored rows among *shopify_ids*, by Shopify id."""
    table = columns_of(model)
    found: dict[int, dict[str, Any]] = {}
    for chunk in chunks(shopify_ids):
        for row in session.execute(
            select(table.shopify_id, *(table[name] for name in columns)).where(
                table.shop_id == shop_id, table.shopify_id.in_(chunk)
            )
        ):
            found[row.shopify_id] = {name: row._mapping[name] for name in columns}
    return found


def _refresh_refund_totals(session: Session, *, order_ids: Collection[int]) -> None:
    """Set `total_refunded` and each line's `refunded_quantity` of the orders from their refunds,
    by the sums the single path uses (`refunds.refund_totals`, `refunds.refunded_quantities`)."""
    orders = columns_of(Order)
    lines = columns_of(OrderLine)
    for chunk in chunks(sorted(order_ids)):
        totals = refund_totals(session, order_ids=chunk)
        session.execute(
            update(table_of(Order))
            .where(orders.id == bindparam("order_key"))
            .values(total_refunded=bindparam("total")),
            [{"order_key": order_id, "total": totals[order_id]} for order_id in chunk],
        )
        session.execute(
            update(table_of(OrderLine)).where(lines.order_id.in_(chunk)).values(refunded_quantity=0)
        )
        refunded = refunded_quantities(session, order_ids=chunk)
        if refunded:
            session.execute(
                update(table_of(OrderLine))
                .where(
                    lines.order_id == bindparam("order_key"),
                    lines.shopify_id == bindparam("line_key"),
                )
                .values(refunded_quantity=bindparam("refunded")),
                [
                    {"order_key": order_id, "line_key": line_id, "refunded": quantity}
                    for (order_id, line_id), quantity in refunded.items()
                ],
            )
