"""Join the feature branches into one head.

The webhook, backfill, KPI, prediction and messaging schemas were written side by side, each on
top of the foundation; this empty revision makes the history linear again from here on.

Revision ID: 0014
Revises: 0003, 0004, 0006, 0009, 0013
Create Date: 2026-11-23 03:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0014"
down_revision: str | Sequence[str] | None = ("0003", "0004", "0006", "0009", "0013")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: this revision only joins the branches."""


def downgrade() -> None:
    """Nothing to change: downgrading past it splits the branches again."""
