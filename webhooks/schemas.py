"""Marshmallow schemas per topic: a payload is validated before its handler runs."""

from __future__ import annotations

from marshmallow import Schema

SCHEMAS: dict[str, type[Schema]] = {}
