"""Read the sample Shopify payloads kept as JSON files in tests/fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures"


def load_payload(name: str) -> dict[str, Any]:
    """Return a fresh copy of the sample payload in tests/fixtures/<name>.json."""
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data
