"""Refresh PostgreSQL's planner statistics of the tables a bulk import grows from nothing.

A backfill fills a new shop's tables with hundreds of thousands of rows within minutes. Until the
statistics are refreshed the planner still takes the tables for nearly empty, and the import's
own lookups (the stored versions of a chunk's orders, `shopify_id = ANY(...)` over 2,000 ids)
become sequential scans that compare every row with every id: a chunk that took 50 ms took 2 s
at 200,000 orders. Autovacuum refreshes them eventually (and not at all where it is off), so the
import refreshes them itself, after chunks 1, 2, 4, 8, ...: a handful of ANALYZE runs, each
reading a fixed-size sample, however large the import. SQLite's planner needs no statistics to
use the unique indexes these lookups go through.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from shopify_app.models import Checkout
from shopify_app.models import Customer
from shopify_app.models import Fulfillment
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Refund

GROWN_TABLES = tuple(
    model.__tablename__ for model in (Order, OrderLine, Customer, Refund, Fulfillment, Checkout)
)


def is_refresh_due(chunk_number: int) -> bool:
    """Whether the import refreshes the statistics after its *chunk_number*-th chunk (from 1)."""
    return chunk_number > 0 and chunk_number & (chunk_number - 1) == 0


def refresh_statistics(session: Session) -> None:
    """ANALYZE the tables an import grows, on PostgreSQL; nothing elsewhere."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("ANALYZE " + ", ".join(GROWN_TABLES)))
