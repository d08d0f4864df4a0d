"""Ids and tokens shaped like a real shop's: 13-digit ids growing by random steps, hex tokens."""

from __future__ import annotations

import random

_ID_BASES = {
    "customer": 7_412_580_000_000,
    "address": 9_122_640_000_000,
    "order": 5_981_224_000_000,
    "line": 15_304_118_000_000,
    "shipping_line": 4_811_233_000_000,
    "fulfillment": 5_402_118_000_000,
    "refund": 1_012_440_000_000,
    "refund_line": 512_330_000_000,
    "transaction": 7_001_552_000_000,
    "checkout": 37_220_914_000_000,
}
ORDER_NUMBER_BASE = 1000
"""Shopify numbers a shop's orders #1001, #1002, ...: `order_number` is `number` plus this."""


class IdSource:
    """Hand out the shop's ids, tokens and order numbers, drawn from the simulation's *rng*."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._last_id = dict(_ID_BASES)
        self._last_order_number = ORDER_NUMBER_BASE

    def new_id(self, kind: str) -> int:
        """Return a new id of *kind* ("order", "line", ...), larger than every earlier one."""
        self._last_id[kind] += self._rng.randint(1, 4096)
        return self._last_id[kind]

    def hex_token(self, bits: int = 128) -> str:
        """Return *bits* random bits as lowercase hex, zero-padded."""
        return format(self._rng.getrandbits(bits), f"0{bits // 4}x")

    def new_order_number(self) -> int:
        """Return the next order number (#1001, #1002, ...)."""
        self._last_order_number += 1
        return self._last_order_number
