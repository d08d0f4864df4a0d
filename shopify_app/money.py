"""Money as the app handles it: `Decimal` amounts in the shop's currency, rounded to the cent.

One place decides how an amount is rounded and how it is written, so the API, the exports,
the emails and the demo's payloads never disagree about a cent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP
from decimal import Decimal

CENT = Decimal("0.01")


def to_cents(value: Decimal | float | int | str) -> Decimal:
    """Return *value* rounded half-up to the cent; a float is read through its shortest repr."""
    if isinstance(value, float):
        value = repr(value)
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def amount_text(value: Decimal | None) -> str | None:
    """Write an amount as JSON and exports carry it: a plain decimal string, None stays None."""
    return None if value is None else str(value)


def cents_text(value: Decimal | None) -> str | None:
    """Write an amount rounded to the cent, in fixed-point notation ("12.30", never "1.23E+1")."""
    return None if value is None else format(to_cents(value), "f")


def display_amount(amount: object, currency: str | None = None) -> str:
    """Write an amount for a person: thousands separated, two decimals, then the currency code."""
    if amount is None or amount == "":
        return ""
    text = f"{to_cents(str(amount)):,.2f}"
    return f"{text} {currency}" if currency else text
