"""The embedded dashboard in a real headless Chromium, loaded the way the Shopify admin loads it."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from shopify_app.analytics.rollups.rebuild import rebuild_rollups
from shopify_app.db import Database
from shopify_app.models import BackfillRun
from shopify_app.models import Customer
from shopify_app.models import Message
from shopify_app.models import MessageAttribution
from shopify_app.models import MessageStatus
from shopify_app.models import NpsResponse
from shopify_app.models import Order
from shopify_app.models import OrderLine
from shopify_app.models import Refund
from shopify_app.models import Shop
from shopify_app.models import ShopCredential
from shopify_app.models import WebhookDelivery
from shopify_app.models.backfill_run import BackfillStatus
from shopify_app.models.webhook_delivery import DeliveryStatus
from shopify_app.predictions import refresh_predictions
from shopify_app.privacy import process_data_request
from shopify_app.web.dashboard import kpi_api
from tests.support.fixtures.browser import WAIT_MS
from tests.support.kpi_example import add_order
from tests.support.shopify import make_session_token

pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
# The browser's clock: "last 30 days" on the page is 2026-02-09 .. 2026-03-10.
CLOCK = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
PERIOD = {"from": "2026-02-09", "to": "2026-03-10"}
SHOP = "alpha.myshopify.com"
BEANS = (801, "House espresso beans, 1 kg")
FILTERS = (802, "Paper filters (100)")
GRINDER = (803, "Hand grinder")


class AdminFrame:
    """A browser page that behaves like the app inside the admin: App Bridge hands out tokens."""

    def __init__(self, page: Any, base_url: str, shop: str) -> None:
        self.page = page
        self.base_url = base_url
        self.shop = shop
        self.outside_requests: list[str] = []
        self.api_paths: list[str] = []

    def open(self) -> None:
        query = urlencode(
            {
                "shop": self.shop,
                "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYWxwaGE",
                "embedded": "1",
                "id_token": make_session_token(self.shop),
            }
        )
        response = self.page.goto(f"{self.base_url}/?{query}")
        assert response is not None
        assert response.status == 200

    def wait_for_section(self, name: str, *states: str, visible: bool = True) -> Any:
        selector = ", ".join(f'[data-section="{name}"][data-state="{s}"]' for s in states)
        return self.page.wait_for_selector(
            selector, timeout=WAIT_MS, state="visible" if visible else "attached"
        )


@pytest.fixture
def admin_frame(browser: Any, live_server: str) -> Iterator[Callable[..., AdminFrame]]:
    contexts: list[Any] = []

    def open_frame(shop: str = SHOP) -> AdminFrame:
        context = browser.new_context(
            locale="en-US", timezone_id="UTC", viewport={"width": 1280, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        frame = AdminFrame(page, live_server, shop)

        def route(request_route: Any) -> None:
            url = request_route.request.url
            if url.startswith(live_server):
                if url.startswith(f"{live_server}/api/"):
                    frame.api_paths.append(url[len(live_server) :])
                request_route.continue_()
            else:
                # App Bridge included: the test stands in for it below, as the admin would.
                frame.outside_requests.append(url)
                request_route.abort()

        page.route("**/*", route)
        page.clock.set_fixed_time(CLOCK)
        page.expose_function("__mintSessionToken", lambda: make_session_token(shop))
        page.add_init_script("window.shopify = { idToken: () => window.__mintSessionToken() };")
        return frame

    yield open_frame
    for context in contexts:
        context.close()


def bearer(shop: str = SHOP) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_session_token(shop)}"}


def seed_orders(database: Database, shop: Shop) -> None:
    """Give the shop repeat and one-off customers over several months, a refund and a test order."""
    day = timedelta(days=1)
    base = CLOCK - timedelta(hours=3)
    # (customer number, days before today, total, product bought)
    plan = [
        (1, 200, "80.00", BEANS),
        (1, 120, "45.50", BEANS),
        (1, 20, "60.00", BEANS),
        (1, 5, "39.99", FILTERS),
        (2, 25, "120.00", GRINDER),
        (2, 3, "80.00", BEANS),
        (3, 28, "35.00", BEANS),
        (4, 90, "52.00", FILTERS),
        (4, 14, "48.00", FILTERS),
        (5, 10, "19.99", FILTERS),
        (6, 250, "300.00", GRINDER),
        (6, 190, "220.00", BEANS),
        (6, 160, "180.00", BEANS),
        (7, 45, "65.00", BEANS),
        (7, 40, "70.00", BEANS),
        (8, 2, "99.00", GRINDER),
    ]
    with database.session_scope() as session:
        customers = {}
        for number in sorted({n for n, _, _, _ in plan}):
            customer = Customer(
                shop_id=shop.id,
                shopify_id=7000 + number,
                email=f"customer{number}@example.com",
                first_name=f"Customer {number}",
                shopify_created_at=base - 300 * day,
            )
            session.add(customer)
            customers[number] = customer
        session.flush()
        orders: list[Order] = []
        for index, (number, days_ago, total, (product_id, title)) in enumerate(plan):
            line = OrderLine(
                shop_id=shop.id,
                shopify_id=5000 + index,
                product_id=product_id,
                title=title,
                quantity=1,
                price=Decimal(total),
            )
            orders.append(
                Order(
                    shop_id=shop.id,
                    shopify_id=9000 + index,
                    name=f"#{1000 + index}",
                    customer_id=customers[number].id,
                    shopify_customer_id=customers[number].shopify_id,
                    email=customers[number].email,
                    processed_at=base - days_ago * day,
                    currency="USD",
                    total_price=Decimal(total),
                    total_refunded=Decimal("0"),
                    financial_status="paid",
                    lines=[line],
                )
            )
        # A partial refund in the period: net revenue is below gross revenue.
        orders[5].total_refunded = Decimal("20.00")
        session.add_all(orders)
        session.flush()
        session.add(
            Refund(
                shop_id=shop.id,
                order_id=orders[5].id,
                shopify_id=6001,
                processed_at=base - day,
                amount=Decimal("20.00"),
            )
        )
        session.add(
            Order(
                shop_id=shop.id,
                shopify_id=9999,
                customer_id=customers[5].id,
                processed_at=base - 4 * day,
                currency="USD",
                total_price=Decimal("500.00"),
                is_test=True,
            )
        )
    with database.session_scope() as session:
        rebuild_rollups(session, shop_id=shop.id, now=CLOCK)
        refresh_predictions(session, shop_id=shop.id, now=CLOCK)


def seed_flow_messages(database: Database, shop: Shop) -> None:
    """Send two flows' messages, hold some out, and credit a few of the seeded orders to them."""
    # (flow, customer number, status, shopify id of the credited order or None)
    plan = [
        ("abandoned_checkout", 1, MessageStatus.SENT, 9003),
        ("abandoned_checkout", 2, MessageStatus.SENT, 9005),
        ("abandoned_checkout", 3, MessageStatus.SENT, None),
        ("abandoned_checkout", 4, MessageStatus.SENT, None),
        ("abandoned_checkout", 5, MessageStatus.SENT, None),
        ("abandoned_checkout", 7, MessageStatus.HELD_OUT, None),
        ("abandoned_checkout", 8, MessageStatus.HELD_OUT, 9015),
        ("replenishment", 4, MessageStatus.SENT, 9008),
        ("replenishment", 6, MessageStatus.SENT, None),
    ]
    sent_at = CLOCK - timedelta(days=16)
    with database.session_scope() as session:
        for index, (flow, number, status, order_shopify_id) in enumerate(plan):
            customer = session.scalar(
                select(Customer).where(
                    Customer.shop_id == shop.id, Customer.shopify_id == 7000 + number
                )
            )
            assert customer is not None
            message = Message(
                shop_id=shop.id,
                flow=flow,
                step=1,
                dedupe_key=f"{flow}:{number}:{index}",
                customer_id=customer.id,
                email=customer.email,
                status=status,
                is_holdout=status == MessageStatus.HELD_OUT,
                due_at=sent_at,
                sent_at=sent_at,
                created_at=sent_at,
            )
            session.add(message)
            session.flush()
            if order_shopify_id is None:
                continue
            order = session.scalar(
                select(Order).where(Order.shop_id == shop.id, Order.shopify_id == order_shopify_id)
            )
            assert order is not None
            session.add(
                MessageAttribution(
                    shop_id=shop.id,
                    order_id=order.id,
                    message_id=message.id,
                    flow=flow,
                    step=1,
                    is_holdout=message.is_holdout,
                    method="window",
                    revenue=order.total_price,
                    order_processed_at=order.processed_at,
                )
            )


def seed_nps_answers(database: Database, shop: Shop) -> None:
    """Answer review requests in the period (and one long before it, which must not count)."""
    # (days before today, score): 4 promoters, 2 passives, 2 detractors in the period.
    plan = [(2, 10), (4, 9), (9, 10), (11, 7), (15, 6), (18, 9), (23, 8), (26, 3), (70, 0)]
    with database.session_scope() as session:
        for index, (days_ago, score) in enumerate(plan):
            at = CLOCK - timedelta(days=days_ago, hours=2)
            message = Message(
                shop_id=shop.id,
                flow="review_request",
                step=1,
                is_marketing=False,
                priority=30,
                dedupe_key=f"review_request:nps-{index}",
                email=f"reviewer{index}@example.com",
                status=MessageStatus.SENT,
                due_at=at - timedelta(days=1),
                sent_at=at - timedelta(days=1),
                created_at=at - timedelta(days=1),
                context={},
            )
            session.add(message)
            session.flush()
            session.add(
                NpsResponse(shop_id=shop.id, message_id=message.id, score=score, responded_at=at)
            )


def seed_data_request(database: Database, shop: Shop) -> int:
    """Answer a customers/data_request for customer 1 as the webhook worker would; return its id."""
    received = CLOCK - timedelta(days=2, hours=5)
    with database.session_scope() as session:
        request = process_data_request(
            session,
            shop=session.get_one(Shop, shop.id),
            shop_domain=shop.domain,
            payload={
                "shop_domain": shop.domain,
                "customer": {"id": 7001, "email": "customer1@example.com"},
                "orders_requested": [9000, 9001],
                "data_request": {"id": 4411},
            },
            webhook_id="data-request-1",
            received_at=received,
            now=received,
        )
        session.flush()
        return request.id


def seed_dead_delivery(database: Database, shop: Shop) -> int:
    """Leave one orders/updated delivery dead-lettered, as the worker does after its last try."""
    with database.session_scope() as session:
        delivery = WebhookDelivery(
            shop_domain=shop.domain,
            shop_id=shop.id,
            topic="orders/updated",
            webhook_id="dead-delivery-1",
            api_version="2026-07",
            payload=b"{not json",
            received_at=CLOCK - timedelta(hours=20),
            status=DeliveryStatus.DEAD,
            attempts=6,
            last_error="The webhook body is not valid JSON: Expecting property name enclosed "
            "in double quotes: line 1 column 2 (char 1)",
        )
        session.add(delivery)
        session.flush()
        return delivery.id


def finish_history_import(database: Database, shop: Shop) -> None:
    """Leave the shop as after a complete import with the read_all_orders scope granted."""
    with database.session_scope() as session:
        for run in session.scalars(select(BackfillRun).where(BackfillRun.shop_id == shop.id)):
            run.status = BackfillStatus.COMPLETED.value
            run.finished_at = CLOCK
        credential = session.get(ShopCredential, shop.id)
        assert credential is not None
        credential.scopes = ",".join(sorted(credential.scope_set | {"read_all_orders"}))


def usd(value: str) -> str:
    return f"${Decimal(value):,.2f}"


def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{round(float(value) * 100, 1):.1f}".removesuffix(".0") + "%"


def kpi_text(frame: AdminFrame, key: str) -> str:
    return frame.page.locator(f'[data-kpi="{key}"] .kpi-value').inner_text().strip()


def nps_text(value: float) -> str:
    text = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
    return f"+{text}" if value > 0 else text


def test_dashboard_shows_what_the_apis_return_and_its_download_and_replay_buttons_work(
    admin_frame: Callable[..., AdminFrame],
    client: FlaskClient,
    database: Database,
    make_shop: Callable[..., Shop],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One page, many sections: starting a browser page per section would only cost time.
    monkeypatch.setattr(kpi_api, "_now", lambda: CLOCK)
    shop = make_shop(SHOP, currency="USD", iana_timezone="UTC", name="Alpha Outfitters")
    seed_orders(database, shop)
    seed_flow_messages(database, shop)
    seed_nps_answers(database, shop)
    request_id = seed_data_request(database, shop)
    dead_id = seed_dead_delivery(database, shop)
    finish_history_import(database, shop)
    nps = client.get(f"/api/nps?{urlencode(PERIOD)}", headers=bearer()).get_json()
    assert (nps["responses"], nps["promoters"], nps["detractors"]) == (8, 4, 2)
    export = client.get(f"/api/privacy/requests/{request_id}/export", headers=bearer())
    assert export.status_code == 200
    assert b"customer1@example.com" in export.get_data()
    api = client.get(f"/api/kpis?{urlencode(PERIOD)}", headers=bearer())
    assert api.status_code == 200, api.get_data(as_text=True)
    kpis = api.get_json()
    assert kpis["orders"] > 0
    assert Decimal(kpis["net_revenue"]) < Decimal(kpis["gross_revenue"])

    frame = admin_frame()
    frame.open()
    frame.wait_for_section("kpis", "ready")

    assert kpi_text(frame, "customers") == f"{kpis['customers']:,}"
    assert kpi_text(frame, "orders") == f"{kpis['orders']:,}"
    assert kpi_text(frame, "gross_revenue") == usd(kpis["gross_revenue"])
    assert kpi_text(frame, "net_revenue") == usd(kpis["net_revenue"])
    assert kpi_text(frame, "average_order_value") == usd(kpis["average_order_value"])
    assert kpi_text(frame, "repeat_purchase_rate") == percent(kpis["repeat_purchase_rate"])
    assert kpi_text(frame, "returning_customer_rate") == percent(kpis["returning_customer_rate"])
    orders_change = frame.page.locator('[data-kpi="orders"] .change').inner_text()
    assert orders_change == f"▲ +{percent(kpis['change']['orders'])}"
    explanation = frame.page.locator('[data-kpi="rate-comparison"] .explain').inner_text()
    assert "at least twice within this period" in explanation
    assert f"/api/kpis?from={PERIOD['from']}&to={PERIOD['to']}" in frame.api_paths
    assert frame.page.locator("#banners [data-banner]").count() == 0
    note = frame.page.locator("#kpi-compare-note").inner_text()
    assert "Figures as of 03:00 PM." in note
    assert "being added" not in note

    nps_section = frame.wait_for_section("nps", "ready")
    assert frame.page.locator(".nps-score").inner_text() == nps_text(nps["nps"])
    assert "% promoters minus % detractors: 50% − 25% = +25" in nps_section.inner_text()
    assert frame.page.locator('[data-nps-count="promoters"]').inner_text() == "4 · 50%"
    assert frame.page.locator('[data-nps-count="responses"]').inner_text() == "8"
    bars = frame.page.locator('[data-section="nps"] svg.chart rect.chart-bar')
    assert bars.count() == sum(
        1 for week in nps["weeks"] for key in ("promoters", "passives", "detractors") if week[key]
    )
    assert f"/api/nps?from={PERIOD['from']}&to={PERIOD['to']}" in frame.api_paths

    privacy = frame.wait_for_section("privacy", "ready")
    [request_row] = privacy.query_selector_all("tbody tr")
    assert "Customer data request" in request_row.inner_text()
    assert "Customer 7001" in request_row.inner_text()
    assert "Mar 8, 2026" in request_row.inner_text()

    problems = frame.wait_for_section("webhook-problems", "ready")
    [problem_row] = problems.query_selector_all("tbody tr")
    assert "orders/updated" in problem_row.inner_text()
    assert "Stopped after 6 attempts" in problem_row.inner_text()
    assert "not valid JSON" in problem_row.inner_text()
    assert "null" not in problems.inner_text()

    for name in ("repeat-rate", "revenue-split", "cohorts", "predictions", "at-risk", "flows"):
        frame.wait_for_section(name, "ready", "empty", "error")
    frame.page.wait_for_function("document.querySelectorAll('[aria-busy=\"true\"]').length === 0")
    assert frame.page.locator('[data-state="error"]').count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "dashboard.png"
    frame.page.screenshot(path=str(screenshot), full_page=True)
    docs_images = REPO_ROOT / "docs" / "images"
    docs_images.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, docs_images / "dashboard.png")

    with frame.page.expect_download() as download_info:
        frame.page.click(f'[data-export="{request_id}"]')
    download = download_info.value
    assert download.suggested_filename == f"data-request-{request_id}-customer-7001.json"
    assert Path(download.path()).read_bytes() == export.get_data()

    with frame.page.expect_response(lambda r: r.url.endswith(f"/{dead_id}/replay")) as replay:
        frame.page.click(f'[data-replay="{dead_id}"]')
    assert replay.value.status == 200
    frame.page.wait_for_selector('[data-section="webhook-problems"] .banner.success')
    assert frame.page.locator('[data-section="webhook-problems"] tbody tr').count() == 0
    with database.session_scope() as session:
        assert session.get_one(WebhookDelivery, dead_id).status is DeliveryStatus.PENDING


def test_figures_computed_before_new_orders_say_so_and_when(
    admin_frame: Callable[..., AdminFrame],
    client: FlaskClient,
    database: Database,
    make_shop: Callable[..., Shop],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The server's clock is the page's, so the page's default period is the 30-day preset.
    monkeypatch.setattr(kpi_api, "_now", lambda: CLOCK)
    shop = make_shop(SHOP, currency="USD", iana_timezone="UTC")
    seed_orders(database, shop)
    computed = client.get(f"/api/kpis?{urlencode(PERIOD)}", headers=bearer()).get_json()
    assert computed["is_current"] is True
    with database.session_scope() as session:
        add_order(
            session,
            shop.id,
            at=CLOCK - timedelta(minutes=5),
            amount="12.00",
            email="late@example.com",
        )

    frame = admin_frame()
    frame.open()
    frame.wait_for_section("kpis", "ready")

    assert kpi_text(frame, "orders") == f"{computed['orders']:,}"
    note = frame.page.locator("#kpi-compare-note").inner_text()
    assert "Figures as of 03:00 PM; newer orders are being added" in note


def test_choosing_another_preset_queries_the_kpis_for_that_range(
    admin_frame: Callable[..., AdminFrame],
    make_shop: Callable[..., Shop],
) -> None:
    make_shop(SHOP)
    frame = admin_frame()
    frame.open()
    frame.wait_for_section("kpis", "ready", "empty")

    with (
        frame.page.expect_response(lambda r: "/api/kpis?" in r.url and "2025-12-11" in r.url),
        frame.page.expect_response(lambda r: "/api/nps?" in r.url and "2025-12-11" in r.url),
    ):
        frame.page.select_option("#range-preset", "90")
    frame.wait_for_section("kpis", "ready", "empty")

    assert "/api/kpis?from=2025-12-11&to=2026-03-10" in frame.api_paths
    assert "/api/nps?from=2025-12-11&to=2026-03-10" in frame.api_paths
    assert frame.page.locator("#range-label").inner_text() == (
        "last 90 days · Dec 11, 2025 – Mar 10, 2026"
    )
    # The server's clock is not the page's here: figures from another day name their date.
    note = frame.page.locator("#kpi-compare-note").inner_text()
    assert re.search(r"Figures as of [A-Z][a-z]{2} \d{1,2}, \d\d:\d\d [AP]M\.", note), note


def test_default_range_ends_today_in_the_shop_time_zone_not_the_browser_one(
    admin_frame: Callable[..., AdminFrame],
    make_shop: Callable[..., Shop],
) -> None:
    # 15:00 UTC on 10 March is already 11 March in Kiritimati (UTC+14).
    make_shop(SHOP, iana_timezone="Pacific/Kiritimati")
    frame = admin_frame()
    frame.open()
    frame.wait_for_section("kpis", "ready", "empty")

    assert "/api/kpis?from=2026-02-10&to=2026-03-11" in frame.api_paths


def test_custom_range_queries_exactly_the_chosen_dates(
    admin_frame: Callable[..., AdminFrame],
    make_shop: Callable[..., Shop],
) -> None:
    make_shop(SHOP)
    frame = admin_frame()
    frame.open()
    frame.wait_for_section("kpis", "ready", "empty")

    frame.page.select_option("#range-preset", "custom")
    frame.page.fill("#range-from", "2026-01-01")
    frame.page.fill("#range-to", "2026-01-31")
    with frame.page.expect_response(lambda r: "from=2026-01-01&to=2026-01-31" in r.url):
        frame.page.click("#custom-range button[type=submit]")

    assert "/api/kpis?from=2026-01-01&to=2026-01-31" in frame.api_paths


def test_shop_without_orders_sees_an_empty_state_instead_of_zeros(
    admin_frame: Callable[..., AdminFrame],
    make_shop: Callable[..., Shop],
) -> None:
    make_shop(SHOP)
    frame = admin_frame()
    frame.open()

    kpis = frame.wait_for_section("kpis", "empty")

    assert "No orders in this period yet" in kpis.inner_text()
    assert frame.page.locator('[data-section="kpis"] .kpi-value').count() == 0
    for name in ("repeat-rate", "revenue-split", "cohorts", "products", "at-risk", "flows"):
        frame.wait_for_section(name, "empty")
    predictions = frame.wait_for_section("predictions", "ready")
    assert "Not computed yet" in predictions.inner_text()
    assert "No answers in this period" in frame.wait_for_section("nps", "empty").inner_text()
    assert "No data requests" in frame.wait_for_section("privacy", "empty").inner_text()
    # Nothing needs attention, so that section takes no room on the page at all.
    problems = frame.wait_for_section("webhook-problems", "empty", visible=False)
    assert not problems.is_visible()


def test_new_install_shows_the_import_banner_and_the_60_day_limit(
    admin_frame: Callable[..., AdminFrame],
    make_shop: Callable[..., Shop],
) -> None:
    make_shop(SHOP)
    frame = admin_frame()
    frame.open()

    running = frame.page.wait_for_selector('[data-banner="backfill-running"]')
    limited = frame.page.wait_for_selector('[data-banner="history-limited"]')

    assert "Importing your store’s history" in running.inner_text()
    assert "Orders: waiting to start" in running.inner_text()
    assert "Only the last 60 days of orders are available" in limited.inner_text()


def test_section_whose_api_answers_500_shows_the_api_message_and_the_rest_still_loads(
    admin_frame: Callable[..., AdminFrame],
    make_shop: Callable[..., Shop],
) -> None:
    make_shop(SHOP)
    frame = admin_frame()
    frame.page.route(
        "**/api/cohorts?*",
        lambda route: route.fulfill(
            status=500,
            content_type="application/json",
            body='{"error": {"message": "Cohort table is being rebuilt", "status": 500}}',
        ),
    )
    frame.open()

    cohorts = frame.wait_for_section("cohorts", "error")
    frame.wait_for_section("kpis", "ready", "empty")

    assert "Cohort table is being rebuilt" in cohorts.inner_text()
    assert cohorts.query_selector("[role=alert]") is not None


def test_api_text_is_shown_as_text_never_as_markup(
    admin_frame: Callable[..., AdminFrame],
    make_shop: Callable[..., Shop],
) -> None:
    make_shop(SHOP)
    frame = admin_frame()
    frame.page.route(
        "**/api/cohorts?*",
        lambda route: route.fulfill(
            status=500,
            content_type="application/json",
            body='{"error": {"message": "<img src=x onerror=window.pwned=1>", "status": 500}}',
        ),
    )
    frame.open()

    cohorts = frame.wait_for_section("cohorts", "error")

    assert "<img src=x onerror=window.pwned=1>" in cohorts.inner_text()
    assert cohorts.query_selector("img") is None
    assert frame.page.evaluate("window.pwned === undefined")


def test_page_fetches_nothing_from_outside_the_app_except_app_bridge(
    admin_frame: Callable[..., AdminFrame],
    make_shop: Callable[..., Shop],
) -> None:
    make_shop(SHOP)
    frame = admin_frame()
    frame.open()
    frame.wait_for_section("kpis", "ready", "empty")
    frame.page.wait_for_function("document.querySelectorAll('[aria-busy=\"true\"]').length === 0")

    assert frame.outside_requests == [APP_BRIDGE]


def test_app_home_lets_only_the_shop_admin_frame_it(
    client: FlaskClient, make_shop: Callable[..., Shop]
) -> None:
    make_shop(SHOP)
    query = urlencode(
        {"shop": SHOP, "host": "abc", "embedded": "1", "id_token": make_session_token(SHOP)}
    )

    response = client.get(f"/?{query}")

    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == (
        f"frame-ancestors https://{SHOP} https://admin.shopify.com;"
    )


def test_export_button_downloads_the_at_risk_list_as_csv(
    admin_frame: Callable[..., AdminFrame],
    client: FlaskClient,
    database: Database,
    make_shop: Callable[..., Shop],
) -> None:
    shop = make_shop(SHOP, currency="USD", iana_timezone="UTC")
    seed_orders(database, shop)
    expected = client.get("/api/customers/at-risk?format=csv", headers=bearer()).get_data()
    frame = admin_frame()
    frame.open()
    frame.wait_for_section("at-risk", "ready")

    with frame.page.expect_download() as download_info:
        frame.page.click("#at-risk-export")
    download = download_info.value

    assert download.suggested_filename == "at-risk-customers-2026-03-10.csv"
    assert Path(download.path()).read_bytes() == expected
    assert expected.count(b"\n") >= 2
