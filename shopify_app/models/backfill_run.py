"""One import of a shop's history through a GraphQL bulk operation, resumable line by line."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from shopify_app.models.base import Base
from shopify_app.models.base import BigIntPK
from shopify_app.models.base import utcnow


class BackfillKind(enum.StrEnum):
    ORDERS = "orders"
    CHECKOUTS = "checkouts"


class BackfillStatus(enum.StrEnum):
    PENDING = "pending"  # queued (e.g. by the install), no bulk operation started yet
    RUNNING = "running"  # bulk operation started, or its result is being imported
    COMPLETED = "completed"
    FAILED = "failed"  # error recorded; running it again resumes after the last imported line


ACTIVE_STATUSES = (BackfillStatus.PENDING, BackfillStatus.RUNNING, BackfillStatus.FAILED)


class BackfillRun(Base):
    __tablename__ = "backfill_runs"
    __table_args__ = (
        Index("ix_backfill_runs_shop_kind_created", "shop_id", "kind", "created_at"),
        Index("ix_backfill_runs_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=BackfillStatus.PENDING.value)
    bulk_operation_id: Mapped[str | None] = mapped_column(String(255))
    bulk_status: Mapped[str | None] = mapped_column(String(32))
    result_url: Mapped[str | None] = mapped_column(Text)
    # Objects Shopify counted in the export (roots and children), for the progress bar.
    object_count: Mapped[int | None] = mapped_column()
    # Resume point: every JSONL line before this one has been imported and committed.
    lines_processed: Mapped[int] = mapped_column(default=0)
    last_object_id: Mapped[str | None] = mapped_column(String(255))
    imported_count: Mapped[int] = mapped_column(default=0)
    skipped_count: Mapped[int] = mapped_column(default=0)
    # Without read_all_orders Shopify only returns the last 60 days of orders.
    is_history_limited: Mapped[bool] = mapped_column(default=False)
    history_since: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def is_finished(self) -> bool:
        return self.status == BackfillStatus.COMPLETED
