"""The CDNOW cohort as orders/create webhooks: one order per purchase of its calibration summary.

`tests/fixtures/cdnow_customers_summary_with_transactions.csv` (see CDNOW_SOURCE.md) gives each of
the 2,357 customers their repeat purchases `x`, the week `t_x` of the last one after the first,
the weeks `T` from the first to the end of the 39-week calibration period, and the mean value
`zbar` of the repeat purchases. Each customer becomes a first order `T` weeks before the end and
`x` repeat orders spread evenly up to week `t_x`, each worth `zbar` (the first one too, or $10
when there is no repeat purchase): 4,814 orders whose days, gaps and values are the cohort's.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from tests.support.inbox_runs import Event
from tests.support.payloads import PAYLOADS
from tests.support.payloads import load_payload

SUMMARY = PAYLOADS / "cdnow_customers_summary_with_transactions.csv"
CALIBRATION_END = datetime(1997, 9, 30, 12, 0, tzinfo=UTC)
"""When the 39-week calibration period from the cohort's first day, 1997-01-01, ends (at noon)."""
ONE_TIME_VALUE = Decimal("10.00")
FIRST_ORDER_ID = 5_000_000_000_000
FIRST_CUSTOMER_ID = 6_000_000_000_000


@dataclass(frozen=True)
class Purchase:
    customer: int
    at: datetime
    value: Decimal


def purchases(path: Path = SUMMARY) -> list[Purchase]:
    """Return the cohort's purchases in the order they were made."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    made = [purchase for row in rows for purchase in _customer_purchases(row)]
    return sorted(made, key=lambda purchase: (purchase.at, purchase.customer))


def _customer_purchases(row: dict[str, str]) -> Iterator[Purchase]:
    customer, repeats = int(row["ID"]), int(row["x"])
    first = CALIBRATION_END - _weeks(float(row["T"]))
    value = Decimal(row["zbar"]) if repeats else ONE_TIME_VALUE
    yield Purchase(customer, first, value)
    for number in range(1, repeats + 1):
        yield Purchase(customer, first + _weeks(float(row["t_x"]) * number / repeats), value)


def _weeks(weeks: float) -> timedelta:
    # Whole hours: the summary's two decimals of a week are about 1.7 hours.
    return timedelta(hours=round(weeks * 7 * 24))


def order_events(path: Path = SUMMARY) -> list[Event]:
    """Return one orders/create delivery per purchase, triggered when the order was placed."""
    template = load_payload("orders__create")
    template["line_items"] = template["line_items"][:1]
    for field in ("refunds", "fulfillments", "shipping_lines", "discount_applications"):
        template[field] = []
    template.update(test=False, cancelled_at=None, cancel_reason=None, financial_status="paid")
    text = json.dumps(template)
    events = []
    for number, purchase in enumerate(purchases(path)):
        payload = json.loads(text)
        order_id = FIRST_ORDER_ID + number
        at = purchase.at.isoformat()
        amount = str(purchase.value)
        payload.update(id=order_id, name=f"#{number + 1}", created_at=at, processed_at=at)
        payload.update(updated_at=at, total_price=amount, subtotal_price=amount)
        payload["total_price_set"]["shop_money"]["amount"] = amount
        payload["subtotal_price_set"]["shop_money"]["amount"] = amount
        customer_id = FIRST_CUSTOMER_ID + purchase.customer
        email = f"cdnow{purchase.customer}@example.com"
        payload.update(email=email, contact_email=email)
        payload["customer"].update(id=customer_id, email=email)
        line = payload["line_items"][0]
        line.update(id=order_id * 10, quantity=1, price=amount)
        line["price_set"]["shop_money"]["amount"] = amount
        events.append(Event("orders/create", payload, purchase.at, f"cdnow-{order_id}"))
    return events
