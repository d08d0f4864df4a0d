// The customers at risk of not coming back, and their export as CSV.
import { download } from "../api.js";
import { todayInShopZone } from "./dates.js";
import { el, empty, ready, section, table } from "./dom.js";
import { formatDate, formatMoney, formatNumber, formatPercent, isMissing } from "./format.js";
import { state } from "./state.js";

export function renderAtRisk(data) {
  if (data.currency) state.currency = data.currency;
  const customers = data.customers || [];
  const rule = isMissing(data.historic_revenue_at_least)
    ? `P(alive) below ${formatPercent(data.p_alive_threshold)}`
    : `spent at least ${formatMoney(data.historic_revenue_at_least)} and P(alive) below ${formatPercent(data.p_alive_threshold)}`;
  if (customers.length === 0) {
    return empty("No customers at risk", data.model_status === "pending"
      ? "The list appears after the nightly prediction run."
      : `Nobody matches right now: customers who ${rule} are listed here.`);
  }
  const headers = [
    { label: "Customer" }, { label: "Last order" }, { label: "Orders", numeric: true },
    { label: "Spent so far", numeric: true }, { label: "P(alive)", numeric: true },
    { label: "Predicted 365-day value", numeric: true },
  ];
  const rows = customers.map((c) => [
    c.name || c.email || `Customer ${c.shopify_customer_id}`,
    formatDate(c.last_order_date),
    formatNumber(c.orders),
    formatMoney(c.historic_revenue),
    formatPercent(c.p_alive),
    formatMoney(c.predicted_clv_365),
  ]);
  return ready(table(headers, rows),
    el("p", { className: "muted chart-note", text: `Customers who ${rule}, most valuable first.` }));
}

export function bindAtRiskExport() {
  const button = document.getElementById("at-risk-export");
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Exporting…";
    try {
      await download("/api/customers/at-risk?format=csv", `at-risk-customers-${todayInShopZone()}.csv`);
    } catch (err) {
      const node = section("at-risk").querySelector(".section-body");
      node.prepend(el("div", { className: "banner critical", role: "alert" },
        el("p", { text: `Export failed: ${err.message}` })));
    } finally {
      button.disabled = false;
      button.textContent = "Export CSV";
    }
  });
}
