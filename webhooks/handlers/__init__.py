"""The topic registry: which handler processes which topic (filled in by the handler modules)."""

from __future__ import annotations

from webhooks.registry import Handler

HANDLERS: dict[str, Handler] = {}
