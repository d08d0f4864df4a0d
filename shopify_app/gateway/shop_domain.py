"""Validate shop domains strictly (Shopify's WEAK_SHOP_VALIDATION check wants an anchored match)."""

from __future__ import annotations

import re

from shopify_app.errors import InvalidShopDomain

_SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")


def normalize_shop_domain(raw: object) -> str:
    """Return the lower-cased `*.myshopify.com` domain, or raise InvalidShopDomain.

    Unlike ShopifyAPI's sanitiser this never repairs input (no scheme stripping, no appended
    suffix): anything but a bare shop domain is refused.
    """
    if not isinstance(raw, str) or not raw:
        raise InvalidShopDomain("The shop parameter is required, e.g. shop=example.myshopify.com")
    candidate = raw.lower()
    if len(candidate) > 255 or not _SHOP_DOMAIN.fullmatch(candidate):
        raise InvalidShopDomain(
            "The shop parameter must be a shop domain such as example.myshopify.com"
        )
    return candidate


def is_valid_shop_domain(raw: object) -> bool:
    try:
        normalize_shop_domain(raw)
    except InvalidShopDomain:
        return False
    return True
