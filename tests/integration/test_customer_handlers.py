"""Customer, consent and shop topics: customers, their consent, uninstall and shop details."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import Customer
from shopify_app.models import Order
from shopify_app.models import Shop
from shopify_app.models import ShopCredential
from tests.support.handlers import deliver
from tests.support.payloads import load_payload

CUSTOMER_ID = 706405506930370084
SAMPLE_TIME = datetime(2022, 1, 1, 0, 0, tzinfo=UTC)
CONSENT_TOPIC = "customers_email_marketing_consent/update"


def stored_customer(session: Session) -> Customer:
    session.expire_all()
    customer = session.scalar(select(Customer).where(Customer.shopify_id == CUSTOMER_ID))
    assert customer is not None
    return customer


@pytest.mark.parametrize("topic", ["customers/create", "customers/update"])
def test_customer_samples_land_with_contact_and_names(
    topic: str, session: Session, shop: Shop, now: datetime
) -> None:
    for _ in range(5):
        deliver(
            session,
            shop,
            topic,
            load_payload(topic.replace("/", "__")),
            now=now,
            webhook_id="same-customer",
        )

    customer = stored_customer(session)
    assert (customer.email, customer.first_name, customer.last_name, customer.phone) == (
        "bob@biller.com",
        "Bob",
        "Biller",
        None,
    )
    assert customer.shopify_updated_at == SAMPLE_TIME
    assert session.scalar(select(func.count()).select_from(Customer)) == 1


def test_a_customer_update_older_than_the_stored_one_changes_nothing(
    session: Session, shop: Shop, now: datetime
) -> None:
    newer = load_payload("customers__update")
    newer.update(email="bob@new.example", updated_at=(SAMPLE_TIME + timedelta(days=1)).isoformat())
    deliver(session, shop, "customers/update", newer, now=now)
    deliver(session, shop, "customers/create", load_payload("customers__create"), now=now)

    assert stored_customer(session).email == "bob@new.example"


def test_customers_delete_marks_the_customer_even_when_it_arrives_first(
    session: Session, shop: Shop, now: datetime
) -> None:
    deliver(
        session,
        shop,
        "customers/delete",
        load_payload("customers__delete"),
        now=now,
        triggered_at=now,
    )
    deliver(session, shop, "customers/create", load_payload("customers__create"), now=now)

    customer = stored_customer(session)
    assert customer.deleted_at == now
    assert customer.email == "bob@biller.com"


def test_consent_sample_sets_the_state_and_older_consent_never_overwrites_newer(
    session: Session, shop: Shop, now: datetime
) -> None:
    deliver(session, shop, "customers/create", load_payload("customers__create"), now=now)
    deliver(
        session,
        shop,
        CONSENT_TOPIC,
        load_payload("customers_email_marketing_consent__update"),
        now=now,
        triggered_at=now - timedelta(days=2),
    )
    assert stored_customer(session).email_consent_state == "not_subscribed"

    subscribed = load_payload("customers_email_marketing_consent__update")
    subscribed["email_marketing_consent"] = {
        "state": "subscribed",
        "opt_in_level": "confirmed_opt_in",
        "consent_updated_at": (now - timedelta(days=1)).isoformat(),
    }
    older = load_payload("customers_email_marketing_consent__update")
    older["email_marketing_consent"] = {
        "state": "unsubscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": (now - timedelta(days=3)).isoformat(),
    }
    deliver(session, shop, CONSENT_TOPIC, subscribed, now=now)
    deliver(session, shop, CONSENT_TOPIC, older, now=now)

    customer = stored_customer(session)
    assert (customer.email_consent_state, customer.email_consent_opt_in_level) == (
        "subscribed",
        "confirmed_opt_in",
    )
    assert customer.email_consent_updated_at == now - timedelta(days=1)
    assert customer.is_email_subscribed is True


def test_consent_for_a_customer_not_yet_stored_creates_them_with_their_email(
    session: Session, shop: Shop, now: datetime
) -> None:
    deliver(
        session,
        shop,
        CONSENT_TOPIC,
        load_payload("customers_email_marketing_consent__update"),
        now=now,
    )

    customer = stored_customer(session)
    assert (customer.email, customer.email_consent_state) == ("bob@biller.com", "not_subscribed")


def test_app_uninstalled_deletes_the_tokens_and_keeps_the_data(
    session: Session, shop: Shop, now: datetime
) -> None:
    assert shop.installed_at is not None
    later = shop.installed_at + timedelta(minutes=5)
    deliver(session, shop, "orders/create", load_payload("orders__create"), now=now)
    for _ in range(2):
        deliver(
            session,
            shop,
            "app/uninstalled",
            load_payload("app__uninstalled"),
            now=later,
            triggered_at=later,
        )

    session.expire_all()
    stored = session.get(Shop, shop.id)
    assert stored is not None
    assert stored.uninstalled_at == later
    assert stored.is_installed is False
    assert session.get(ShopCredential, shop.id) is None
    assert session.scalar(select(func.count()).select_from(Order)) == 1


def test_an_uninstall_triggered_before_the_current_installation_is_ignored(
    session: Session, shop: Shop, now: datetime
) -> None:
    assert shop.installed_at is not None
    deliver(
        session,
        shop,
        "app/uninstalled",
        load_payload("app__uninstalled"),
        now=now,
        triggered_at=shop.installed_at - timedelta(days=1),
    )

    session.expire_all()
    assert session.get(ShopCredential, shop.id) is not None
    assert session.get(Shop, shop.id).is_installed is True  # type: ignore[union-attr]


def test_shop_update_keeps_currency_time_zone_email_and_name_current(
    session: Session, shop: Shop, now: datetime
) -> None:
    update = load_payload("app__uninstalled")
    update.update(
        currency="EUR",
        iana_timezone="Europe/Berlin",
        updated_at=(SAMPLE_TIME + timedelta(days=2)).isoformat(),
    )
    stale = load_payload("app__uninstalled")
    stale.update(
        currency="GBP",
        iana_timezone="Europe/London",
        name="Old name",
        updated_at=(SAMPLE_TIME + timedelta(days=1)).isoformat(),
    )

    deliver(session, shop, "shop/update", update, now=now)
    deliver(session, shop, "shop/update", stale, now=now)

    session.expire_all()
    stored = session.get(Shop, shop.id)
    assert stored is not None
    assert (stored.currency, stored.iana_timezone, stored.email, stored.name) == (
        "EUR",
        "Europe/Berlin",
        "super@supertoys.com",
        "Super Toys",
    )


def test_shop_update_without_a_time_zone_keeps_the_stored_one(
    session: Session, shop: Shop, now: datetime
) -> None:
    deliver(session, shop, "shop/update", load_payload("app__uninstalled"), now=now)

    session.expire_all()
    stored = session.get(Shop, shop.id)
    assert stored is not None
    assert (stored.currency, stored.iana_timezone, stored.shopify_id) == ("USD", "UTC", 548380009)
