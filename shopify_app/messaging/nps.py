"""Net Promoter Score: signed 0-10 links in review requests, the answers, and the score.

Each link carries a signed (message, shop, customer, score) payload, so it needs no login and
cannot be forged, altered or pointed at another message or customer. Opening a link only shows a
confirmation (mail link scanners prefetch every link in an email; they must not answer for the
customer); sending that confirmation records the answer. One answer counts per message: the
first one sent is recorded, and a later click (another score, or the same link again)
is refused with the recorded score shown, so a forwarded email or a second thought cannot stuff
the score. NPS is the share of promoters (9-10) minus the share of detractors (0-6), in points.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from shopify_app.errors import AppError
from shopify_app.errors import NotFound
from shopify_app.messaging.flow_params import REVIEW_REQUEST
from shopify_app.messaging.rules import shop_zone
from shopify_app.messaging.signed_links import make_token
from shopify_app.messaging.signed_links import read_token
from shopify_app.models import Customer
from shopify_app.models import Message
from shopify_app.models import MessageStatus
from shopify_app.models import NpsResponse
from shopify_app.models import Shop
from shopify_app.models.upsert import conflict_insert

PURPOSE = "nps"
SCORES = range(11)
NPS_FLOW = REVIEW_REQUEST
ANSWERABLE = (MessageStatus.SENT, MessageStatus.CLAIMED, MessageStatus.NEEDS_REVIEW)
"""Messages that may have reached the customer; a held-out or cancelled one never did."""


class InvalidNpsLink(AppError):
    status_code = 400


class Outcome(enum.StrEnum):
    PENDING = "pending"
    RECORDED = "recorded"
    ALREADY_RECORDED = "already_recorded"


@dataclass(frozen=True)
class NpsAnswer:
    outcome: Outcome
    score: int  # the score that counts (the first one given), or the one offered when pending
    shop_name: str


def score_links(message: Message, *, app_url: str, secret_key: str) -> list[dict[str, Any]]:
    """Return the eleven signed answer links of *message*, score 0 to 10."""
    return [
        {
            "score": score,
            "url": f"{app_url}/nps/"
            + make_token(
                secret_key,
                purpose=PURPOSE,
                payload={
                    "m": message.id,
                    "s": message.shop_id,
                    "c": message.customer_id,
                    "n": score,
                },
            ),
        }
        for score in SCORES
    ]


def _resolve(session: Session, *, secret_key: str, token: str) -> tuple[Message, Shop, int]:
    """Return the message, shop and score a genuine, answerable link stands for."""
    payload = read_token(secret_key, purpose=PURPOSE, token=token)
    if payload is None:
        raise InvalidNpsLink("This link is not valid.")
    score, message_id = payload.get("n"), payload.get("m")
    if not isinstance(score, int) or isinstance(score, bool) or score not in SCORES:
        raise InvalidNpsLink("This link is not valid.")
    if not isinstance(message_id, int):
        raise InvalidNpsLink("This link is not valid.")
    message = session.get(Message, message_id)
    if (
        message is None
        or message.flow != NPS_FLOW
        or message.shop_id != payload.get("s")
        or message.customer_id != payload.get("c")
        or message.status not in ANSWERABLE
    ):
        raise InvalidNpsLink("This link is no longer valid.")
    shop = session.get(Shop, message.shop_id)
    assert shop is not None
    return message, shop, score


def _recorded_score(session: Session, message: Message) -> int | None:
    score = session.scalar(
        select(NpsResponse.score).where(
            NpsResponse.shop_id == message.shop_id, NpsResponse.message_id == message.id
        )
    )
    return None if score is None else int(score)


def check_answer(session: Session, *, secret_key: str, token: str) -> NpsAnswer:
    """Tell whether *token* is genuine and already answered, without recording anything."""
    message, shop, score = _resolve(session, secret_key=secret_key, token=token)
    name = shop.name or shop.domain
    first = _recorded_score(session, message)
    if first is None:
        return NpsAnswer(outcome=Outcome.PENDING, score=score, shop_name=name)
    return NpsAnswer(outcome=Outcome.ALREADY_RECORDED, score=first, shop_name=name)


def record_answer(session: Session, *, secret_key: str, token: str, now: datetime) -> NpsAnswer:
    """Record the score a signed link carries, once per message; refuse anything not genuine."""
    message, shop, score = _resolve(session, secret_key=secret_key, token=token)
    inserted = session.execute(
        conflict_insert(session, NpsResponse)
        .values(
            shop_id=message.shop_id,
            customer_id=message.customer_id,
            message_id=message.id,
            order_id=message.order_id,
            score=score,
            responded_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["shop_id", "message_id"])
        .returning(NpsResponse.id)
    ).scalar_one_or_none()
    name = shop.name or shop.domain
    if inserted is not None:
        return NpsAnswer(outcome=Outcome.RECORDED, score=score, shop_name=name)
    first = _recorded_score(session, message)
    return NpsAnswer(
        outcome=Outcome.ALREADY_RECORDED,
        score=first if first is not None else score,
        shop_name=name,
    )


@dataclass(frozen=True)
class NpsCounts:
    responses: int
    promoters: int
    passives: int
    detractors: int

    @property
    def nps(self) -> float | None:
        """Return % promoters minus % detractors (-100..100), or None without answers."""
        if not self.responses:
            return None
        return round(100 * (self.promoters - self.detractors) / self.responses, 1)


@dataclass(frozen=True)
class NpsWeek:
    week_start: date
    counts: NpsCounts


@dataclass(frozen=True)
class NpsReport:
    start: date
    end: date
    totals: NpsCounts
    weeks: list[NpsWeek]


def count_scores(scores: list[int]) -> NpsCounts:
    """Split *scores* into promoters (9-10), passives (7-8) and detractors (0-6)."""
    return NpsCounts(
        responses=len(scores),
        promoters=sum(1 for s in scores if s >= 9),
        passives=sum(1 for s in scores if 7 <= s <= 8),
        detractors=sum(1 for s in scores if s <= 6),
    )


def load_nps_report(session: Session, *, shop_id: int, start: date, end: date) -> NpsReport:
    """Return the NPS of the answers given from *start* to *end* (shop's local days), by week.

    The period comes checked (ordered, at most five years) from the API's one query parser.
    """
    shop = session.get(Shop, shop_id)
    if shop is None:
        raise NotFound("Unknown shop")
    zone = shop_zone(shop.iana_timezone)
    since = datetime.combine(start, time(0), tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)
    rows = session.execute(
        select(NpsResponse.score, NpsResponse.responded_at)
        .where(
            NpsResponse.shop_id == shop_id,
            NpsResponse.responded_at >= since,
            NpsResponse.responded_at < until,
        )
        .order_by(NpsResponse.responded_at)
    ).all()
    by_week: dict[date, list[int]] = {}
    for score, responded_at in rows:
        local = responded_at.astimezone(zone).date()
        by_week.setdefault(local - timedelta(days=local.weekday()), []).append(int(score))
    weeks = []
    week = start - timedelta(days=start.weekday())
    while week <= end:
        weeks.append(NpsWeek(week_start=week, counts=count_scores(by_week.get(week, []))))
        week += timedelta(days=7)
    return NpsReport(
        start=start, end=end, totals=count_scores([int(s) for s, _ in rows]), weeks=weeks
    )


def redact_answers(
    session: Session, shop: Shop, customer: Customer | None, email: str | None, now: datetime
) -> None:
    """Join `privacy.redact_customer`: keep the scores for the NPS, unlinked from the customer."""
    if customer is None:
        return
    session.execute(
        update(NpsResponse)
        .where(NpsResponse.shop_id == shop.id, NpsResponse.customer_id == customer.id)
        .values(customer_id=None, order_id=None)
        .execution_options(synchronize_session=False)
    )


def export_answers(
    session: Session, shop: Shop, customer: Customer | None, email: str | None
) -> list[dict[str, Any]]:
    """Join `privacy.export_customer_data`: the customer's NPS answers."""
    if customer is None:
        return []
    rows = session.scalars(
        select(NpsResponse)
        .where(NpsResponse.shop_id == shop.id, NpsResponse.customer_id == customer.id)
        .order_by(NpsResponse.responded_at)
    )
    return [{"score": r.score, "responded_at": r.responded_at.isoformat()} for r in rows]
