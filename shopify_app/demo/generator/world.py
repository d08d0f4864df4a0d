"""What every part of the simulation shares: one random generator, one timeline, one shop."""

from __future__ import annotations

import random
from dataclasses import dataclass

from shopify_app.demo.generator.habits import ShoppingHabits
from shopify_app.demo.generator.ids import IdSource
from shopify_app.demo.generator.rendering import ShopFormat
from shopify_app.demo.generator.seasons import DemandCurve
from shopify_app.demo.generator.timeline import Timeline


@dataclass(frozen=True)
class World:
    """The simulation's shared parts; everything random draws from *rng*, in call order."""

    rng: random.Random
    ids: IdSource
    curve: DemandCurve
    habits: ShoppingHabits
    timeline: Timeline
    fmt: ShopFormat
