"""Nonces issued for the authorization-code grant; each may be redeemed once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from shopify_app.models.base import Base


class OAuthState(Base):
    __tablename__ = "oauth_states"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_domain: Mapped[str] = mapped_column(String(255))
    issued_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
