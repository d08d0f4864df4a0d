"""Shop domains are validated with an anchored pattern and never repaired."""

from __future__ import annotations

import pytest

from shopify_app.errors import InvalidShopDomain
from shopify_app.gateway.shop_domain import normalize_shop_domain


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("alpha.myshopify.com", "alpha.myshopify.com"),
        ("Alpha-Store.MyShopify.com", "alpha-store.myshopify.com"),
        ("0shop.myshopify.com", "0shop.myshopify.com"),
    ],
)
def test_valid_shop_domains_are_lower_cased(raw: str, expected: str) -> None:
    assert normalize_shop_domain(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "evil.com",
        "shop.myshopify.com.evil.com",
        "SHOP.myshopify.com/../x",
        "javascript:alert(1)//shop.myshopify.com",
        "https://shop.myshopify.com",
        "shop.myshopify.com:443",
        "-shop.myshopify.com",
        "sh op.myshopify.com",
        "shop.myshopify.com\n",
        "shop",
        "",
        None,
        "a" * 300 + ".myshopify.com",
    ],
)
def test_anything_but_a_bare_shop_domain_is_refused(raw: object) -> None:
    with pytest.raises(InvalidShopDomain):
        normalize_shop_domain(raw)
