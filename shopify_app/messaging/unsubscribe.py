"""One-click unsubscribe from a signed link: record it here, then tell Shopify when allowed.

The link carries a signed message id, so it cannot be forged or pointed at someone else. The first
use records the opt-out (the customer's `unsubscribed_at` and an address suppression, so even a
guest checkout's address is honoured) and cancels pending marketing; a second use only reports
that it was already done. Updating the consent in Shopify is best effort: it never undoes or blocks
the local opt-out.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from shopify_app.errors import AppError
from shopify_app.gateway.graphql import GraphQLClient
from shopify_app.gateway.oauth import AppCredentials
from shopify_app.messaging.outbox import suppress_recipient
from shopify_app.messaging.signed_links import make_token
from shopify_app.messaging.signed_links import read_token
from shopify_app.models import Customer
from shopify_app.models import EmailSuppression
from shopify_app.models import Message
from shopify_app.models import Shop
from shopify_app.models import ShopCredential
from shopify_app.store.credentials import get_access_token
from shopify_app.store.token_cipher import TokenCipher

logger = logging.getLogger(__name__)

PURPOSE = "unsubscribe"
CONSENT_SCOPE = "write_customers"
CONSENT_MUTATION = """
mutation UnsubscribeCustomer($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id }
    userErrors { field message }
  }
}
"""


class InvalidUnsubscribeLink(AppError):
    status_code = 400


class Outcome(enum.StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    ALREADY_UNSUBSCRIBED = "already_unsubscribed"
    PENDING = "pending"  # a valid link not used yet (GET shows a confirmation)


@dataclass(frozen=True)
class UnsubscribeResult:
    outcome: Outcome
    shop_id: int
    shop_name: str
    customer_shopify_id: int | None = None


def unsubscribe_url(message: Message, *, app_url: str, secret_key: str) -> str:
    """Return the signed one-click unsubscribe link of *message*."""
    token = make_token(secret_key, purpose=PURPOSE, payload={"m": message.id, "s": message.shop_id})
    return f"{app_url}/u/{token}"


def _resolve(session: Session, *, secret_key: str, token: str) -> tuple[Message, Shop]:
    payload = read_token(secret_key, purpose=PURPOSE, token=token)
    if payload is None or not isinstance(payload.get("m"), int):
        raise InvalidUnsubscribeLink("This unsubscribe link is not valid.")
    message = session.get(Message, payload["m"])
    if message is None or message.shop_id != payload.get("s"):
        raise InvalidUnsubscribeLink("This unsubscribe link is no longer valid.")
    shop = session.get(Shop, message.shop_id)
    assert shop is not None
    return message, shop


def _is_unsubscribed(session: Session, message: Message, customer: Customer | None) -> bool:
    if customer is not None and customer.unsubscribed_at is not None:
        return True
    if message.email is None:  # redacted: nothing left to email
        return True
    return (
        session.scalar(
            select(EmailSuppression.id).where(
                EmailSuppression.shop_id == message.shop_id,
                EmailSuppression.email == message.email,
                EmailSuppression.reason == "unsubscribed",
            )
        )
        is not None
    )


def check_link(session: Session, *, secret_key: str, token: str) -> UnsubscribeResult:
    """Tell whether *token* is valid and already used, without changing anything."""
    message, shop = _resolve(session, secret_key=secret_key, token=token)
    customer = session.get(Customer, message.customer_id) if message.customer_id else None
    outcome = (
        Outcome.ALREADY_UNSUBSCRIBED
        if _is_unsubscribed(session, message, customer)
        else Outcome.PENDING
    )
    return UnsubscribeResult(outcome=outcome, shop_id=shop.id, shop_name=shop.name or shop.domain)


def unsubscribe(
    session: Session, *, secret_key: str, token: str, now: datetime
) -> UnsubscribeResult:
    """Record the opt-out *token* stands for and cancel the buyer's pending marketing."""
    message, shop = _resolve(session, secret_key=secret_key, token=token)
    customer = session.get(Customer, message.customer_id) if message.customer_id else None
    name = shop.name or shop.domain
    if _is_unsubscribed(session, message, customer):
        return UnsubscribeResult(Outcome.ALREADY_UNSUBSCRIBED, shop.id, name)
    if customer is not None:
        customer.unsubscribed_at = now
    cancelled = suppress_recipient(session, message=message, reason="unsubscribed", now=now)
    session.flush()
    logger.info(
        "Recorded an unsubscribe; cancelled %d pending messages",
        cancelled,
        extra={"shop": shop.domain},
    )
    return UnsubscribeResult(
        Outcome.UNSUBSCRIBED,
        shop.id,
        name,
        customer_shopify_id=customer.shopify_id if customer is not None else None,
    )


ClientFactory = Callable[[str, str], GraphQLClient]


def sync_consent_to_shopify(
    session_factory: sessionmaker[Session],
    *,
    shop_id: int,
    customer_shopify_id: int,
    app: AppCredentials,
    cipher: TokenCipher,
    now: datetime,
    client_factory: ClientFactory = GraphQLClient,
) -> bool:
    """Set the customer's email marketing consent to UNSUBSCRIBED in Shopify; never raise.

    Needs the `write_customers` scope; return whether Shopify took the change.
    """
    try:
        with session_factory() as session:
            shop = session.get(Shop, shop_id)
            credential = session.get(ShopCredential, shop_id)
            if shop is None or not shop.is_installed or credential is None:
                return False
            if CONSENT_SCOPE not in credential.scope_set:
                return False
            domain = shop.domain
        token = get_access_token(session_factory, shop_id=shop_id, app=app, cipher=cipher, now=now)
        data = client_factory(domain, token).execute(
            CONSENT_MUTATION,
            {
                "input": {
                    "customerId": f"gid://shopify/Customer/{customer_shopify_id}",
                    "emailMarketingConsent": {
                        "marketingState": "UNSUBSCRIBED",
                        "consentUpdatedAt": now.isoformat(),
                    },
                }
            },
        )
    except Exception:  # the local opt-out stands whatever Shopify says
        logger.warning(
            "Could not update the consent in Shopify", exc_info=True, extra={"shop_id": shop_id}
        )
        return False
    errors = (data.get("customerEmailMarketingConsentUpdate") or {}).get("userErrors") or []
    if errors:
        logger.warning(
            "Shopify refused the consent update: %s",
            "; ".join(str(e.get("message")) for e in errors),
            extra={"shop_id": shop_id},
        )
        return False
    return True
