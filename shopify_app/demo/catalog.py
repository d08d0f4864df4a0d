"""The demo shop's catalogue: consumables people run out of, and durables they buy once."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal


class ProductKind(enum.StrEnum):
    CONSUMABLE = "consumable"
    DURABLE = "durable"


@dataclass(frozen=True)
class Variant:
    id: int
    title: str | None
    sku: str


@dataclass(frozen=True)
class Product:
    """A product as the demo shop sells it; *reorder_days* is how long one unit typically lasts."""

    id: int
    title: str
    vendor: str
    price: Decimal
    grams: int
    kind: ProductKind
    variants: tuple[Variant, ...]
    popularity: float
    reorder_days: int | None = None

    @property
    def is_consumable(self) -> bool:
        return self.kind is ProductKind.CONSUMABLE


# Ids look like a real shop's (13-digit) and never change between seeds, so a generated stream can
# be compared with another one product by product.
_PRODUCT_ID_BASE = 8_712_004_000_000
_VARIANT_ID_BASE = 45_390_118_000_000


def _product(
    number: int,
    title: str,
    price: str,
    grams: int,
    *,
    sku: str,
    popularity: float,
    reorder_days: int | None = None,
    variants: tuple[str, ...] = (),
    vendor: str = "Retention Demo Roasters",
) -> Product:
    product_id = _PRODUCT_ID_BASE + number * 7919
    titles: tuple[str | None, ...] = variants or (None,)
    built = tuple(
        Variant(
            id=_VARIANT_ID_BASE + number * 104_729 + index,
            title=variant_title,
            sku=f"{sku}-{variant_title[:2].upper()}" if variant_title else sku,
        )
        for index, variant_title in enumerate(titles)
    )
    return Product(
        id=product_id,
        title=title,
        vendor=vendor,
        price=Decimal(price),
        grams=grams,
        kind=ProductKind.CONSUMABLE if reorder_days else ProductKind.DURABLE,
        variants=built,
        popularity=popularity,
        reorder_days=reorder_days,
    )


_GRIND = ("Whole bean", "Ground")

PRODUCTS: tuple[Product, ...] = (
    _product(
        1,
        "House Blend Coffee 250g",
        "14.00",
        250,
        sku="COF-HOUSE-250",
        popularity=10.0,
        reorder_days=18,
        variants=_GRIND,
    ),
    _product(
        2,
        "Ethiopia Yirgacheffe 250g",
        "17.50",
        250,
        sku="COF-ETH-250",
        popularity=6.0,
        reorder_days=21,
        variants=_GRIND,
    ),
    _product(
        3,
        "Espresso Roast 1kg",
        "42.00",
        1000,
        sku="COF-ESP-1000",
        popularity=5.0,
        reorder_days=45,
        variants=_GRIND,
    ),
    _product(
        4,
        "Colombia Decaf 250g",
        "15.00",
        250,
        sku="COF-DECAF-250",
        popularity=2.5,
        reorder_days=28,
        variants=_GRIND,
    ),
    _product(
        5,
        "Earl Grey Loose Leaf Tea 100g",
        "9.50",
        100,
        sku="TEA-EARL-100",
        popularity=3.0,
        reorder_days=35,
    ),
    _product(
        6, "Cold Brew Packs (6)", "11.00", 300, sku="COF-COLD-6", popularity=2.5, reorder_days=14
    ),
    _product(
        7,
        "Paper Filters #2 (100)",
        "6.00",
        150,
        sku="ACC-FILT-100",
        popularity=3.5,
        reorder_days=60,
    ),
    _product(
        8,
        "Espresso Machine Descaler",
        "12.00",
        500,
        sku="ACC-DESC-500",
        popularity=1.5,
        reorder_days=90,
    ),
    _product(
        20,
        "Conical Burr Grinder",
        "149.00",
        2400,
        sku="EQP-GRIND",
        popularity=2.0,
        vendor="Baratza",
    ),
    _product(
        21,
        "Gooseneck Kettle",
        "79.00",
        1100,
        sku="EQP-KETTLE",
        popularity=2.0,
        variants=("Matte Black", "Steel"),
        vendor="Fellow",
    ),
    _product(22, "French Press 1L", "39.00", 900, sku="EQP-PRESS", popularity=2.5, vendor="Bodum"),
    _product(
        23, "Pour-Over Dripper Set", "34.00", 700, sku="EQP-DRIP", popularity=2.5, vendor="Hario"
    ),
    _product(
        24,
        "Stoneware Mug Set (2)",
        "24.00",
        800,
        sku="EQP-MUGS",
        popularity=2.0,
        variants=("Sand", "Slate"),
    ),
    _product(
        25, "Digital Coffee Scale", "29.00", 400, sku="EQP-SCALE", popularity=1.5, vendor="Hario"
    ),
    _product(
        26,
        "Insulated Travel Tumbler",
        "27.00",
        350,
        sku="EQP-TUMBLER",
        popularity=1.5,
        variants=("Black", "Olive"),
    ),
)

CONSUMABLES: tuple[Product, ...] = tuple(p for p in PRODUCTS if p.is_consumable)
DURABLES: tuple[Product, ...] = tuple(p for p in PRODUCTS if not p.is_consumable)


def product_by_id(product_id: int) -> Product:
    """Return the catalogue product with *product_id*; raise KeyError for an unknown id."""
    for product in PRODUCTS:
        if product.id == product_id:
            return product
    raise KeyError(product_id)
