"""Attribution and results: orders credited to the latest message, treated vs control compared."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.db import Database
from shopify_app.models import MessageAttribution
from shopify_app.models import MessageStatus
from shopify_app.models import Shop
from tests.support import flows
from tests.support.shopify import make_session_token

pytestmark = pytest.mark.usefixtures("smtp")

FLOW = "abandoned_checkout"
T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
def shop(make_flow_shop: Callable[..., Shop]) -> Shop:
    return make_flow_shop(FLOW, at=T0, holdout_share=0.5)


def test_orders_are_credited_to_treated_and_control_messages_and_compared_per_step(
    database: Database,
    shop: Shop,
    runner: FlaskCliRunner,
    client: FlaskClient,
    session: Session,
) -> None:
    for n in range(1, 9):
        payload = flows.checkout_payload(
            f"tok-{n}", email=f"b{n}@example.com", customer_id=7000 + n, updated_at=T0
        )
        flows.store_checkout(database, shop.id, payload, T0)
        flows.subscribe(database, shop.id, 7000 + n, T0)
    flows.run_once(runner, T0 + timedelta(hours=1, minutes=5))
    decided = {m.checkout_token: m.status for m in flows.messages(session, FLOW)}
    treated = sorted(t for t, s in decided.items() if s == MessageStatus.SENT)
    control = sorted(t for t, s in decided.items() if s == MessageStatus.HELD_OUT)
    assert treated
    assert control
    # One treated buyer recovers their checkout; one control buyer buys anyway, by email.
    bought_at = T0 + timedelta(hours=3)
    t_n, c_n = int(treated[0].split("-")[1]), int(control[0].split("-")[1])
    flows.store_order(
        database,
        shop.id,
        flows.order_payload(
            9100,
            email=f"b{t_n}@example.com",
            checkout_token=treated[0],
            processed_at=bought_at,
            total_price="120.00",
        ),
        bought_at,
    )
    flows.store_order(
        database,
        shop.id,
        flows.order_payload(
            9200,
            email=f"b{c_n}@example.com",
            processed_at=bought_at,
            total_price="80.00",
        ),
        bought_at,
    )

    flows.run_once(runner, T0 + timedelta(hours=3, minutes=30))
    flows.run_once(runner, T0 + timedelta(hours=3, minutes=31))  # crediting twice is harmless

    credits = {a.method: a for a in session.scalars(select(MessageAttribution))}
    assert set(credits) == {"recovered_checkout", "window"}
    assert credits["recovered_checkout"].is_holdout is False
    assert credits["window"].is_holdout is True
    session.commit()

    token = make_session_token("alpha.myshopify.com")
    response = client.get(
        "/api/flows/results?from=2026-03-01&to=2026-03-31",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200
    [step] = response.get_json()["steps"]
    assert (step["flow"], step["step"]) == (FLOW, 1)
    assert step["eligible"] == 8
    assert (step["sent"], step["held_out"]) == (len(treated), len(control))
    assert step["converted"] == 1
    assert Decimal(step["attributed_revenue"]) == Decimal("120.00")
    assert step["treated"]["revenue_per_1000"] == str(
        (Decimal("120000") / len(treated)).quantize(Decimal("0.01"))
    )
    assert step["control"]["converted"] == 1
    low, high = step["conversion_lift_ci95"]
    assert low <= step["conversion_lift"] <= high
    assert step["incremental_revenue"] is not None


def test_results_refuse_a_malformed_period(shop: Shop, client: FlaskClient) -> None:
    token = make_session_token("alpha.myshopify.com")

    response = client.get(
        "/api/flows/results?from=March", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 400
    assert "from" in response.get_json()["error"]["message"]
