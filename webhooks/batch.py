"""Process claimed deliveries in batches: one transaction per batch, a savepoint per delivery.

A commit per delivery is what made processing slow (and, on SQLite, what held the write lock
while acknowledgements waited). Here a batch shares one transaction: each delivery still runs in
a savepoint of its own, so a handler's failure is rolled back and recorded on that delivery
alone. If the batch's transaction itself cannot commit (a constraint checked at commit, a lost
connection), its deliveries are processed again one by one, each in its own transaction, so the
culprit fails with its own error and the others are done.

A batch is bounded by count (the claim) and by time: the transaction is committed once its
deliveries have taken *budget*, and the rest go on in a new transaction. On SQLite every write
transaction holds the database's one write lock, so a short budget bounds how long a webhook's
acknowledgement can wait for it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from datetime import datetime
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.models import Shop
from webhooks import inbox
from webhooks import order_sets
from webhooks import shop_locks
from webhooks.processing import Outcome
from webhooks.processing import apply_delivery
from webhooks.processing import record_failure

logger = logging.getLogger(__name__)

SQLITE_BUDGET = timedelta(milliseconds=50)
"""How long one batch transaction may run on SQLite, where it holds the only write lock."""

SERVER_BUDGET = timedelta(seconds=2)
"""How long one batch transaction may run on PostgreSQL, where writers lock rows, not the file."""


def budget_for(database: Database) -> timedelta:
    return SQLITE_BUDGET if database.is_sqlite else SERVER_BUDGET


def process_batch(
    database: Database,
    *,
    claims: Sequence[inbox.Claim],
    now: datetime,
    policy: inbox.RetryPolicy = inbox.DEFAULT_RETRY_POLICY,
    budget: timedelta | None = None,
) -> list[Outcome]:
    """Process *claims* in as few transactions as the time budget allows; one outcome each,
    in the order of *claims*."""
    limit = (budget if budget is not None else budget_for(database)).total_seconds()
    outcomes: dict[inbox.Claim, Outcome] = {}
    pending = sorted(claims)
    while pending:
        outcomes.update(
            _process_part(database, claims=pending, now=now, policy=policy, seconds=limit)
        )
        pending = [claim for claim in pending if claim not in outcomes]
    return [outcomes[claim] for claim in claims]


def _process_part(
    database: Database,
    *,
    claims: Sequence[inbox.Claim],
    now: datetime,
    policy: inbox.RetryPolicy,
    seconds: float,
) -> dict[inbox.Claim, Outcome]:
    """Process claims in one transaction until the budget is spent; return those it took."""
    outcomes: dict[inbox.Claim, Outcome] = {}
    try:
        with database.session_scope() as session:
            _apply_claims(
                session, claims, outcomes=outcomes, now=now, policy=policy, seconds=seconds
            )
        return outcomes
    except Exception:  # noqa: BLE001 - the batch could not commit; isolate the culprit
        logger.warning(
            "A batch of %d deliveries could not commit; processing them one by one",
            len(outcomes),
        )
    taken = [claim for claim in claims if claim in outcomes] or list(claims[:1])
    return {claim: process_claim(database, claim=claim, now=now, policy=policy) for claim in taken}


def _apply_claims(
    session: Session,
    claims: Sequence[inbox.Claim],
    *,
    outcomes: dict[inbox.Claim, Outcome],
    now: datetime,
    policy: inbox.RetryPolicy,
    seconds: float,
) -> None:
    """Lock the claimed rows, then their shops (`shop_locks`), apply the order deliveries as
    one set per shop, then the others in claim order until *seconds* have passed; record an
    outcome for every claim taken."""
    started = time.monotonic()
    held = {d.id: d for d in inbox.lock_claimed(session, claims=claims)}
    domains = {delivery.shop_domain for delivery in held.values()}
    shop_locks.lock_shops(session, domains)  # batches of one shop take turns (shop_locks)
    shops = {s.domain: s for s in session.scalars(select(Shop).where(Shop.domain.in_(domains)))}
    by_delivery = {claim.delivery_id: claim for claim in claims}
    in_sets = [d for d in held.values() if order_sets.takes_part(d, shops.get(d.shop_domain))]
    for delivery_id, outcome in order_sets.apply_order_sets(
        session, in_sets, shops=shops, now=now, policy=policy
    ).items():
        outcomes[by_delivery[delivery_id]] = outcome
    for claim in claims:
        if claim in outcomes:
            continue
        delivery = held.get(claim.delivery_id)
        if delivery is None:
            outcomes[claim] = Outcome.SKIPPED
        else:
            shop = shops.get(delivery.shop_domain)
            outcomes[claim] = apply_delivery(session, delivery, shop=shop, now=now, policy=policy)
        if time.monotonic() - started >= seconds:
            return


def process_claim(
    database: Database,
    *,
    claim: inbox.Claim,
    now: datetime,
    policy: inbox.RetryPolicy = inbox.DEFAULT_RETRY_POLICY,
) -> Outcome:
    """Process one claimed delivery in a transaction of its own (a batch's delivery again
    after the batch could not commit)."""
    outcomes: dict[inbox.Claim, Outcome] = {}
    try:
        with database.session_scope() as session:
            _apply_claims(
                session, [claim], outcomes=outcomes, now=now, policy=policy, seconds=math.inf
            )
        return outcomes[claim]
    except Exception as exc:  # noqa: BLE001 - the transaction itself failed; record it below
        failure: BaseException = exc
    # The processing transaction could not commit (lost connection, a constraint checked at
    # commit): record the failure in a fresh one so the delivery backs off instead of spinning.
    with database.session_scope() as session:
        held = inbox.lock_claimed(session, claims=[claim])
        if not held:
            return Outcome.SKIPPED
        return record_failure(held[0], failure, now=now, policy=policy)
