"""Write the rollup tables: derived rows in batches, counters by adding in the database.

The counters (per day, week, product, repurchase gap, activity window and the version) are
changed only through add_to_counters, so concurrent workers never lose an update.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import tuple_
from sqlalchemy.orm import Session

from shopify_app.analytics.rollups.facts import DEFAULT_ACTIVE_DAYS
from shopify_app.analytics.rollups.facts import DerivedCustomer
from shopify_app.analytics.rollups.totals import DAY_FIELDS
from shopify_app.analytics.rollups.totals import WEEK_FIELDS
from shopify_app.analytics.rollups.totals import RollupTotals
from shopify_app.analytics.rollups.totals import zeros
from shopify_app.models import RollupActiveDay
from shopify_app.models import RollupCustomer
from shopify_app.models import RollupCustomerDay
from shopify_app.models import RollupCustomerMonth
from shopify_app.models import RollupCustomerProduct
from shopify_app.models import RollupDay
from shopify_app.models import RollupOrder
from shopify_app.models import RollupProduct
from shopify_app.models import RollupProductGap
from shopify_app.models import RollupRefund
from shopify_app.models import RollupVersion
from shopify_app.models import RollupWeek
from shopify_app.models.upsert import conflict_insert

# Every table a shop's aggregates live in, per-customer ones before shop-level ones.
ROLLUP_MODELS = (
    RollupCustomerDay,
    RollupCustomerMonth,
    RollupCustomerProduct,
    RollupCustomer,
    RollupDay,
    RollupWeek,
    RollupProduct,
    RollupProductGap,
    RollupRefund,
    RollupOrder,
    RollupActiveDay,
)
INSERT_BATCH = 5000


def insert_rows(session: Session, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert *rows* into *model*'s table, one multi-row statement per batch."""
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(model.__table__.insert(), list(rows[start : start + INSERT_BATCH]))


def insert_customers(session: Session, derived: Sequence[DerivedCustomer]) -> None:
    """Insert the rows derived for *derived* customers, table by table."""
    insert_rows(session, RollupCustomer, [d.customer for d in derived])
    insert_rows(session, RollupCustomerDay, [row for d in derived for row in d.days])
    insert_rows(session, RollupCustomerMonth, [row for d in derived for row in d.months])
    insert_rows(session, RollupCustomerProduct, [row for d in derived for row in d.products])


@dataclass(frozen=True)
class Counter:
    """A shop-level counter table; a row exists while any column of *kept_while* is not 0."""

    model: Any
    kept_while: tuple[str, ...]

    def keeps(self, row: dict[str, Any]) -> bool:
        """Whether a row of these values exists, in a rebuild as after incremental upkeep."""
        return any(row[name] for name in self.kept_while)


DAYS = Counter(RollupDay, kept_while=("orders", "refunds_cents"))
WEEKS = Counter(RollupWeek, kept_while=("customers",))
PRODUCTS = Counter(RollupProduct, kept_while=("buyers",))
PRODUCT_GAPS = Counter(RollupProductGap, kept_while=("customers",))
ACTIVE_DAYS = Counter(RollupActiveDay, kept_while=("delta",))
VERSIONS = Counter(RollupVersion, kept_while=())


def counter_rows(
    totals: RollupTotals, *, shop_id: int
) -> list[tuple[Counter, list[dict[str, Any]]]]:
    """Return the counter rows *totals* (sums or deltas) make, table by table, in key order.

    The rebuild inserts them and incremental upkeep adds them, so both write the same rows.
    """
    shop = {"shop_id": shop_id}
    day_zeros = zeros(len(DAY_FIELDS))
    return [
        (
            DAYS,
            [
                {
                    **shop,
                    "local_date": day,
                    **dict(zip(DAY_FIELDS, totals.days.get(day, day_zeros), strict=True)),
                    "refunds_cents": totals.refunds.get(day, 0),
                }
                for day in sorted(set(totals.days) | set(totals.refunds))
            ],
        ),
        (
            WEEKS,
            [
                {**shop, "week_start": week, **dict(zip(WEEK_FIELDS, counts, strict=True))}
                for week, counts in sorted(totals.weeks.items())
            ],
        ),
        (
            PRODUCTS,
            [
                {**shop, "product_id": product_id, "buyers": counts[0], "repurchasers": counts[1]}
                for product_id, counts in sorted(totals.products.items())
            ],
        ),
        (
            PRODUCT_GAPS,
            [
                {**shop, "product_id": product_id, "gap_days": gap_days, "customers": n}
                for (product_id, gap_days), n in sorted(totals.gaps.items())
            ],
        ),
        (
            ACTIVE_DAYS,
            [
                {**shop, "active_days": n, "local_date": day, "delta": change}
                for (n, day), change in sorted(totals.active.items())
            ],
        ),
    ]


def add_to_counters(session: Session, counter: Counter, rows: Sequence[dict[str, Any]]) -> None:
    """Add each of *rows* to the counter row at its key, creating missing rows from 0.

    One upsert adds in the database (x = x + d), so concurrent workers never lose an update, and
    takes the rows in key order, so they lock alike. A row whose *kept_while* columns all end
    at 0 is deleted, as a rebuild would not write it.
    """
    table = counter.model.__table__
    keys = [column.name for column in table.primary_key.columns]
    changed = sorted(
        (row for row in rows if any(v for name, v in row.items() if name not in keys)),
        key=lambda row: tuple(row[name] for name in keys),
    )
    if not changed:
        return
    insert = conflict_insert(session, table)
    upsert = insert.on_conflict_do_update(
        index_elements=keys,
        set_={
            name: table.c[name] + insert.excluded[name] for name in changed[0] if name not in keys
        },
    )
    if not counter.kept_while:
        session.execute(upsert, changed)
        return
    kept = [table.c[name] for name in counter.kept_while]
    added = session.execute(upsert.returning(*(table.c[name] for name in keys), *kept), changed)
    emptied = [tuple(row[: len(keys)]) for row in added if not any(row[len(keys) :])]
    if emptied:
        session.execute(
            delete(table).where(
                tuple_(*(table.c[name] for name in keys)).in_(emptied),
                *(column == 0 for column in kept),
            )
        )


def apply_deltas(session: Session, *, shop_id: int, deltas: RollupTotals) -> None:
    """Add *deltas* to the shop's counters, one upsert per table."""
    for counter, rows in counter_rows(deltas, shop_id=shop_id):
        add_to_counters(session, counter, rows)


def tracked_active_windows(session: Session, *, shop_id: int) -> set[int]:
    """Return the windows N whose activity deltas the shop keeps: the default and any with rows."""
    # Rows for an N exist exactly while the shop has counting orders and the N is kept; once the
    # last order goes, the rows net to zero and vanish, and only a rebuild starts keeping it again.
    return {DEFAULT_ACTIVE_DAYS} | {
        int(n)
        for n in session.scalars(
            select(RollupActiveDay.active_days).where(RollupActiveDay.shop_id == shop_id).distinct()
        )
    }


def bump_version(session: Session, *, shop_id: int) -> None:
    """Record that this transaction changes the shop's aggregates (see RollupVersion)."""
    add_to_counters(session, VERSIONS, [{"shop_id": shop_id, "version": 1}])


def current_version(session: Session, *, shop_id: int) -> int:
    """Return the shop's aggregate version: 0 until its aggregates first change."""
    version = session.scalar(select(RollupVersion.version).where(RollupVersion.shop_id == shop_id))
    return int(version or 0)
