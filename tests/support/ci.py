"""Tell a missing service from a broken run: under CI the test fails, elsewhere it skips."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def is_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str, *, ci_reason: str | None = None) -> NoReturn:
    """Fail the test under CI, where every service must be there; skip it elsewhere."""
    if is_ci():
        pytest.fail(ci_reason or reason)
    pytest.skip(reason)
