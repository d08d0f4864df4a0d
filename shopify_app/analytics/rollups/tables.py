"""Write the rollup tables: derived rows in batches, counters by adding in the database.

The counters (per day, week, product, repurchase gap, activity window and the version) are
changed only through add_to_counter, so concurrent workers never lose an update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
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


def add_to_counter(
    session: Session,
    model: Any,
    *,
    key: dict[str, Any],
    changes: dict[str, int],
    drop_when_zero: Sequence[str] = (),
) -> None:
    """Add *changes* to the counter row of *model* at *key*, creating it at zero if missing.

    Increments happen in the database (x = x + d), so concurrent workers never lose an update.
    The row is deleted once every column in *drop_when_zero* is 0, as a rebuild would not write it.
    """
    added = {name: change for name, change in changes.items() if change}
    if not added:
        return
    session.execute(
        conflict_insert(session, model)
        .values(**key, **dict.fromkeys(changes, 0))
        .on_conflict_do_nothing()
    )
    columns = model.__table__.c
    where = [columns[name] == value for name, value in key.items()]
    session.execute(
        update(model)
        .where(*where)
        .values({columns[name]: columns[name] + change for name, change in added.items()}),
        execution_options={"synchronize_session": False},
    )
    if drop_when_zero:
        session.execute(
            delete(model).where(*where, *(columns[name] == 0 for name in drop_when_zero)),
            execution_options={"synchronize_session": False},
        )


def apply_deltas(session: Session, *, shop_id: int, deltas: RollupTotals) -> None:
    """Add *deltas* to the shop's counters, in key order so concurrent workers lock alike."""
    for day in sorted(set(deltas.days) | set(deltas.refunds)):
        changes = dict(zip(DAY_FIELDS, deltas.days.get(day, zeros(len(DAY_FIELDS))), strict=True))
        changes["refunds_cents"] = deltas.refunds.get(day, 0)
        add_to_counter(
            session,
            RollupDay,
            key={"shop_id": shop_id, "local_date": day},
            changes=changes,
            drop_when_zero=("orders", "refunds_cents"),
        )
    for week, week_changes in sorted(deltas.weeks.items()):
        add_to_counter(
            session,
            RollupWeek,
            key={"shop_id": shop_id, "week_start": week},
            changes=dict(zip(WEEK_FIELDS, week_changes, strict=True)),
            drop_when_zero=("customers",),
        )
    for product_id, (buyers, repurchasers) in sorted(deltas.products.items()):
        add_to_counter(
            session,
            RollupProduct,
            key={"shop_id": shop_id, "product_id": product_id},
            changes={"buyers": buyers, "repurchasers": repurchasers},
            drop_when_zero=("buyers",),
        )
    for (product_id, gap_days), change in sorted(deltas.gaps.items()):
        add_to_counter(
            session,
            RollupProductGap,
            key={"shop_id": shop_id, "product_id": product_id, "gap_days": gap_days},
            changes={"customers": change},
            drop_when_zero=("customers",),
        )
    for (active_days, day), change in sorted(deltas.active.items()):
        add_to_counter(
            session,
            RollupActiveDay,
            key={"shop_id": shop_id, "active_days": active_days, "local_date": day},
            changes={"delta": change},
            drop_when_zero=("delta",),
        )


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
    add_to_counter(session, RollupVersion, key={"shop_id": shop_id}, changes={"version": 1})


def current_version(session: Session, *, shop_id: int) -> int:
    """Return the shop's aggregate version: 0 until its aggregates first change."""
    version = session.scalar(select(RollupVersion.version).where(RollupVersion.shop_id == shop_id))
    return int(version or 0)
