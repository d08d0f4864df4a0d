"""GraphQL bulk operations: start an export, poll it, and stream its JSONL result line by line.

Facts checked against shopify.dev for the pinned version (2026-07):
- `bulkOperationRunQuery(query:, groupObjects:)`; `groupObjects` defaults to false since 2026-01.
  We ask for `true`: grouped output puts every child line right after its parent, which is what
  lets us reassemble an order and its line items while streaming, holding one order in memory.
- `bulkOperation(id:)` (since 2026-01) reads one operation; `currentBulkOperation` only knows the
  newest one, and 2026-01+ allows several bulk queries per shop at once.
- Status is CREATED, RUNNING, COMPLETED, FAILED, CANCELING, CANCELED or EXPIRED; `url` is null when
  the export matched nothing, and expires after 7 days.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import requests

from shopify_app.gateway.errors import ShopifyError
from shopify_app.gateway.errors import ShopifyUnavailable
from shopify_app.gateway.graphql import GraphQLClient
from shopify_app.gateway.http import TIMEOUT

logger = logging.getLogger(__name__)

TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELED", "EXPIRED"})

MONEY_FIELDS = "shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }"
_CUSTOMER = (
    "customer { id firstName lastName createdAt updatedAt"
    " defaultEmailAddress { emailAddress marketingState marketingOptInLevel marketingUpdatedAt }"
    " defaultPhoneNumber { phoneNumber } }"
)

ORDER_FIELDS = f"""
id name email phone createdAt updatedAt processedAt cancelledAt test
currencyCode presentmentCurrencyCode checkoutToken sourceName
displayFinancialStatus displayFulfillmentStatus
totalPriceSet {{ {MONEY_FIELDS} }}
subtotalPriceSet {{ {MONEY_FIELDS} }}
totalDiscountsSet {{ {MONEY_FIELDS} }}
totalTaxSet {{ {MONEY_FIELDS} }}
{_CUSTOMER}
"""

BULK_REFUND_FIELDS = f"refunds {{ id createdAt totalRefundedSet {{ {MONEY_FIELDS} }} }}"
"""Refunds in a bulk export: `refunds` is a list, and connections under a list cannot be bulk
exported, so refund lines are not included (the refunded amount is)."""

ORDER_LINE_ITEM_FIELDS = f"""
id title name variantTitle sku quantity product {{ id }} variant {{ id }}
originalUnitPriceSet {{ {MONEY_FIELDS} }}
"""

CHECKOUT_FIELDS = f"""
id name abandonedCheckoutUrl createdAt updatedAt completedAt
totalPriceSet {{ {MONEY_FIELDS} }}
subtotalPriceSet {{ {MONEY_FIELDS} }}
totalTaxSet {{ {MONEY_FIELDS} }}
totalDiscountSet {{ {MONEY_FIELDS} }}
{_CUSTOMER}
"""

CHECKOUT_LINE_ITEM_FIELDS = f"""
id title variantTitle sku quantity product {{ id }} variant {{ id }}
originalUnitPriceSet {{ {MONEY_FIELDS} }}
originalTotalPriceSet {{ {MONEY_FIELDS} }}
"""


def orders_bulk_query(search: str | None = None) -> str:
    """Return the bulk query for orders with their customer and line items."""
    arguments = f"(query: {json.dumps(search)})" if search else ""
    return (
        f"{{ orders{arguments} {{ edges {{ node {{ {ORDER_FIELDS} {BULK_REFUND_FIELDS}"
        f" lineItems {{ edges {{ node {{ {ORDER_LINE_ITEM_FIELDS} }} }} }}"
        " } } } }"
    )


def checkouts_bulk_query(search: str | None = None) -> str:
    """Return the bulk query for abandoned checkouts with their customer and line items."""
    arguments = f"(query: {json.dumps(search)})" if search else ""
    return (
        f"{{ abandonedCheckouts{arguments} {{ edges {{ node {{ {CHECKOUT_FIELDS}"
        f" lineItems {{ edges {{ node {{ {CHECKOUT_LINE_ITEM_FIELDS} }} }} }}"
        " } } } }"
    )


RUN_QUERY_MUTATION = """
mutation RunBulkQuery($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: true) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

_OPERATION_FIELDS = (
    "id status errorCode objectCount rootObjectCount url partialDataUrl createdAt completedAt"
)

OPERATION_QUERY = f"""
query BulkOperation($id: ID!) {{
  bulkOperation(id: $id) {{ {_OPERATION_FIELDS} }}
}}
"""


class BulkOperationRefused(ShopifyError):
    """Shopify refused to start the bulk operation (userErrors), e.g. one is already running."""


class BulkResultCorrupt(ShopifyError):
    """The JSONL result is not what a grouped export looks like (bad JSON, orphaned child)."""


@dataclass(frozen=True)
class BulkOperation:
    id: str
    status: str
    error_code: str | None = None
    object_count: int | None = None
    root_object_count: int | None = None
    url: str | None = None
    partial_data_url: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_graphql(cls, node: dict[str, Any]) -> BulkOperation:
        return cls(
            id=str(node["id"]),
            status=str(node.get("status") or "CREATED"),
            error_code=node.get("errorCode"),
            object_count=_to_int(node.get("objectCount")),
            root_object_count=_to_int(node.get("rootObjectCount")),
            url=node.get("url"),
            partial_data_url=node.get("partialDataUrl"),
        )


@dataclass
class BulkObject:
    """One root object of a bulk export with its child lines, and where it ends in the file."""

    root: dict[str, Any]
    children: list[dict[str, Any]] = field(default_factory=list)
    last_line: int = 0

    @property
    def id(self) -> str:
        return str(self.root.get("id"))


def start_bulk_query(client: GraphQLClient, query: str) -> BulkOperation:
    """Start a bulk export of *query* and return the new operation."""
    data = client.execute(RUN_QUERY_MUTATION, {"query": query})
    payload = data.get("bulkOperationRunQuery") or {}
    errors = payload.get("userErrors") or []
    if errors:
        messages = "; ".join(str(e.get("message", e)) for e in errors)
        raise BulkOperationRefused(f"Shopify refused the bulk query: {messages}")
    operation = payload.get("bulkOperation")
    if not isinstance(operation, dict) or not operation.get("id"):
        raise ShopifyError("bulkOperationRunQuery answered without an operation")
    return BulkOperation.from_graphql(operation)


def fetch_bulk_operation(client: GraphQLClient, operation_id: str) -> BulkOperation:
    """Return the current state of the bulk operation *operation_id*."""
    data = client.execute(OPERATION_QUERY, {"id": operation_id})
    node = data.get("bulkOperation")
    if not isinstance(node, dict):
        raise ShopifyError(f"bulk operation {operation_id} is unknown to Shopify")
    return BulkOperation.from_graphql(node)


def wait_for_bulk_operation(
    client: GraphQLClient,
    operation_id: str,
    *,
    poll_interval: float = 5.0,
    max_wait: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
    on_poll: Callable[[BulkOperation], None] | None = None,
) -> BulkOperation:
    """Poll until the operation is finished or *max_wait* seconds of sleeping have passed.

    Returns the last state seen, finished or not: a job calls again later rather than blocking a
    worker for the hours a large export can take.
    """
    waited = 0.0
    while True:
        operation = fetch_bulk_operation(client, operation_id)
        if on_poll is not None:
            on_poll(operation)
        if operation.is_terminal or waited >= max_wait:
            return operation
        sleep(poll_interval)
        waited += poll_interval


def iter_jsonl(
    url: str, *, skip_lines: int = 0, chunk_size: int = 64 * 1024
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) from the JSONL file at *url*, streamed, after *skip_lines*.

    Line numbers start at 1. The file is never held in memory: lines are read as they arrive.
    """
    try:
        response = requests.get(url, stream=True, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise ShopifyUnavailable(f"bulk result download failed: {type(exc).__name__}") from exc
    with response:
        if response.status_code != 200:
            raise ShopifyUnavailable(f"bulk result download answered HTTP {response.status_code}")
        number = 0
        try:
            for raw in response.iter_lines(chunk_size=chunk_size):
                if not raw:
                    continue
                number += 1
                if number <= skip_lines:
                    continue
                try:
                    obj = json.loads(raw)
                except ValueError as exc:
                    raise BulkResultCorrupt(
                        f"line {number} of the bulk result is not JSON"
                    ) from exc
                if not isinstance(obj, dict):
                    raise BulkResultCorrupt(f"line {number} of the bulk result is not an object")
                yield number, obj
        except requests.RequestException as exc:
            raise ShopifyUnavailable(
                f"bulk result download broke after line {number}: {type(exc).__name__}"
            ) from exc


def group_bulk_objects(lines: Iterable[tuple[int, dict[str, Any]]]) -> Iterator[BulkObject]:
    """Reassemble root objects with their children (linked by `__parentId`) from grouped lines.

    A root is complete when the next root starts, so only one root and its children are held.
    """
    current: BulkObject | None = None
    known_ids: set[str] = set()
    for number, obj in lines:
        parent_id = obj.pop("__parentId", None)
        if parent_id is None:
            if current is not None:
                yield current
            current = BulkObject(root=obj, last_line=number)
            known_ids = {str(obj.get("id"))}
            continue
        if current is None or str(parent_id) not in known_ids:
            raise BulkResultCorrupt(
                f"line {number} belongs to {parent_id}, which is not the object being read;"
                " the export must be grouped (groupObjects: true)"
            )
        current.children.append(obj)
        current.last_line = number
        if obj.get("id") is not None:
            known_ids.add(str(obj["id"]))
    if current is not None:
        yield current


def _to_int(value: object) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None
