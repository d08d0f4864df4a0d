// The predicted customer value: which model the predictions use, and what they expect.
import { el, ready } from "./dom.js";
import { formatDate, formatMoney, formatNumber } from "./format.js";
import { state } from "./state.js";

const MODEL_BADGES = {
  fitted: ["success", "Fitted to your store"],
  prior: ["attention", "Using the starting estimate (prior)"],
  pending: ["neutral", "Not computed yet"],
};

export function renderPredictions(summary) {
  if (summary.currency) state.currency = summary.currency;
  const status = summary.model_status;
  const [tone, label] = MODEL_BADGES[status] || ["neutral", String(status)];
  const nodes = [el("p", { className: "model-status" }, el("span", { className: `badge ${tone}`, text: label }))];
  if (status === "prior") {
    nodes.push(el("p", { className: "explain", text: "Your store does not have enough repeat buyers yet for us to learn its own buying pattern, so these predictions use a typical-store starting estimate (a prior). They become your store’s own as more customers come back." }));
  }
  if (summary.reason) nodes.push(el("p", { className: "muted reason", text: summary.reason }));
  if (status === "pending") return ready(...nodes);
  const facts = [
    ["Customers scored", formatNumber(summary.customers_scored)],
    ["Repeat buyers", formatNumber(summary.repeat_buyers)],
    ["Predicted 365-day CLV per customer", formatMoney(summary.mean_predicted_clv_365)],
    ["Expected orders, next 90 days", formatNumber(summary.expected_orders_next_90_days, 1)],
    ["Expected orders, next 365 days", formatNumber(summary.expected_orders_next_365_days, 1)],
  ];
  nodes.push(el("dl", { className: "facts" }, ...facts.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { text: value })])));
  if (summary.computed_at) nodes.push(el("p", { className: "muted chart-note", text: `Computed ${formatDate(summary.computed_at)}; refreshed nightly.` }));
  return ready(...nodes);
}
