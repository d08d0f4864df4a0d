"""Render the shop and its customers: shop/update, customers/*, consent, and the buyer blocks."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from shopify_app.demo.generator.events import CONSENT_TOPIC
from shopify_app.demo.generator.facts import Customer
from shopify_app.demo.generator.rendering import ShopFormat
from shopify_app.demo.generator.rendering import Template
from shopify_app.demo.generator.rendering import fill
from shopify_app.demo.generator.rendering import part


def shop_payload(fmt: ShopFormat, *, at: datetime, history_start: datetime) -> dict[str, Any]:
    """Return shop/update at *at*; the shop opened a month before *history_start*."""
    shop = fmt.shop
    offset = at.astimezone(fmt.tz).strftime("%z")
    return fill(
        part("shop/update"),
        id=shop.shopify_id,
        name=shop.name,
        email=shop.email,
        domain=shop.domain,
        province="New York",
        country="US",
        address1="41 Roaster Way",
        zip="11211",
        city="Brooklyn",
        phone="+17185550142",
        created_at=fmt.time(history_start - timedelta(days=30)),
        updated_at=fmt.time(at),
        customer_email=shop.email if at == history_start else shop.support_email,
        currency=shop.currency,
        timezone=f"(GMT{offset[:3]}:{offset[3:]}) {shop.iana_timezone}",
        iana_timezone=shop.iana_timezone,
        shop_owner=f"{shop.owner_first_name} {shop.owner_last_name}",
        money_format="${{amount}}",
        money_with_currency_format="${{amount}} USD",
        weight_unit="lb",
        province_code="NY",
        taxes_included=False,
        tax_shipping=False,
        plan_display_name="Basic",
        plan_name="basic",
        myshopify_domain=shop.domain,
        money_in_emails_format="${{amount}}",
        money_with_currency_in_emails_format="${{amount}} USD",
        password_enabled=False,
        primary_location_id=shop.location_id,
        enabled_presentment_currencies=[shop.currency],
    )


def _identity(fmt: ShopFormat, customer: Customer) -> dict[str, Any]:
    """Return the fields that name a customer, the same in their own payload and as a buyer."""
    return {
        "id": customer.id,
        "created_at": fmt.time(customer.created_at),
        "updated_at": fmt.time(customer.updated_at),
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "state": "enabled" if customer.has_account else "disabled",
    }


def customer_payload(fmt: ShopFormat, customer: Customer) -> dict[str, Any]:
    """Return customers/create (or customers/update: the same shape) for *customer*."""
    address = default_address(customer, part("customers/create", "default_address"))
    return fill(
        part("customers/create"),
        **_identity(fmt, customer),
        note=None,
        verified_email=True,
        email=customer.email,
        phone=customer.phone,
        currency=fmt.shop.currency,
        addresses=[address],
        admin_graphql_api_id=f"gid://shopify/Customer/{customer.id}",
        default_address=dict(address),
    )


def default_address(customer: Customer, template: Template) -> dict[str, Any]:
    """Return *customer*'s address as a customer's `default_address` in *template* lists it."""
    address = customer.address
    return fill(
        template,
        id=customer.address_id,
        customer_id=customer.id,
        first_name=customer.first_name,
        last_name=customer.last_name,
        company=None,
        address1=address["address1"],
        address2=address["address2"],
        city=address["city"],
        province=address["province"],
        country=address["country"],
        zip=address["zip"],
        phone=address["phone"],
        name=address["name"],
        province_code=address["province_code"],
        country_code="US",
        country_name="United States",
    )


def consent_payload(fmt: ShopFormat, customer: Customer) -> dict[str, Any]:
    """Return customers_email_marketing_consent/update for *customer*'s current consent."""
    consent = fill(
        part(CONSENT_TOPIC, "email_marketing_consent"),
        state=customer.consent_state,
        opt_in_level=customer.consent_level,
        consent_updated_at=fmt.time(customer.consent_updated_at),
    )
    return fill(
        part(CONSENT_TOPIC),
        customer_id=customer.id,
        email_address=customer.email,
        email_marketing_consent=consent,
    )


def buyer_payload(fmt: ShopFormat, customer: Customer, *, topic: str) -> dict[str, Any]:
    """Return the `customer` block of a checkout or order payload of *topic*."""
    return fill(
        part(topic, "customer"),
        **_identity(fmt, customer),
        email=customer.email,
        phone=customer.phone,
        currency=fmt.shop.currency,
        admin_graphql_api_id=f"gid://shopify/Customer/{customer.id}",
        default_address=default_address(customer, part(topic, "customer", "default_address")),
    )
