"""One writer per shop at a time on PostgreSQL: a transaction-scoped advisory lock per shop.

Queue workers may process the same shop at once (the sweeper re-enqueues it, Dramatiq redelivers
a message, an operator drains by hand). Their claims never overlap, but their batches can hold
versions of the same order or customer: two transactions upserting the same rows in different
orders can deadlock, and two inserting the same new order race on its unique key. Taking the
shop's lock first makes such transactions take turns, so a batch always sees the rows of the
batch before it committed; the newest-version rule of the store then decides what is kept,
whichever batch ran first.

The lock is `pg_advisory_xact_lock`: released by the commit or rollback, so a crashed worker
never leaves it held. Shops are locked in one sorted order, so batches of several shops (the
embedded worker's) cannot deadlock on each other's locks. SQLite needs none: it lets one
writer in at a time anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

LOCK_SPACE = 0x52455431
"""The first key of the two-key advisory lock: keeps these locks apart from any other's."""


def lock_key(shop_domain: str) -> int:
    """Return the second lock key for *shop_domain*: a stable 32-bit hash (collisions only make
    two shops take turns)."""
    digest = hashlib.blake2b(shop_domain.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_shops(session: Session, shop_domains: Iterable[str]) -> None:
    """Wait for and hold, until the transaction ends, the lock of each shop in *shop_domains*."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted({lock_key(domain) for domain in shop_domains}):
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"), {"space": LOCK_SPACE, "key": key}
        )
