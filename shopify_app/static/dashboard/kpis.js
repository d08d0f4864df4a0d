// The overview: one card per KPI with its change from the previous period of the same length.
import { daysBetween } from "./dates.js";
import { el, empty, ready } from "./dom.js";
import { FORMATTERS, formatDate, formatDays, formatMoney, formatNumber, isMissing } from "./format.js";
import { state } from "./state.js";

const KPI_CARDS = [
  { key: "gross_revenue", label: "Gross revenue", kind: "money" },
  { key: "net_revenue", label: "Net revenue", kind: "money", hint: "after refunds in the period" },
  { key: "orders", label: "Orders", kind: "count" },
  { key: "customers", label: "Customers", kind: "count", hint: "with an order in the period" },
  { key: "average_order_value", label: "Average order value", kind: "money" },
  { key: "purchase_frequency", label: "Purchase frequency", kind: "ratio", hint: "orders per customer" },
  { key: "historic_clv", label: "Historic CLV (mean)", kind: "money", hint: "revenue per customer in the period" },
  { key: "customer_retention_rate", label: "Customer retention rate", kind: "rate" },
  { key: "median_days_between_orders", label: "Median days between orders", kind: "days", neutral: true },
  { key: "repeat_within_90_days_rate", label: "Repeat within 90 days", kind: "rate", hint: "new customers who ordered again within 90 days" },
];

// Return {text, direction} for the change from *previous* to *current*, or null when not comparable.
// Rates change in percentage points; everything else by the relative change the API computed.
function change(kind, current, previous, relative) {
  if (isMissing(current) || isMissing(previous)) return null;
  const now = Number(current);
  const before = Number(previous);
  if (kind === "rate") {
    const points = (now - before) * 100;
    const rounded = Math.round(points * 10) / 10;
    if (rounded === 0) return { text: "no change", direction: 0 };
    return { text: `${rounded > 0 ? "+" : ""}${formatNumber(rounded, 1)} pts`, direction: Math.sign(rounded) };
  }
  if (isMissing(relative)) {
    if (before !== 0) relative = (now - before) / Math.abs(before);
    else return now === 0 ? { text: "0%", direction: 0 } : { text: "new", direction: 1 };
  }
  const rounded = Math.round(Number(relative) * 1000) / 1000;
  const sign = rounded > 0 ? "+" : "";
  return {
    text: `${sign}${new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 }).format(rounded)}`,
    direction: Math.sign(rounded),
  };
}

function changeBadge(card, kpis) {
  const previous = kpis.previous || {};
  const delta = change(card.kind, kpis[card.key], previous[card.key], (kpis.change || {})[card.key]);
  if (!delta) return el("span", { className: "change neutral", text: "no comparison" });
  let tone = "neutral";
  if (!card.neutral && delta.direction > 0) tone = "up";
  if (!card.neutral && delta.direction < 0) tone = "down";
  const arrow = delta.direction > 0 ? "▲ " : delta.direction < 0 ? "▼ " : "";
  return el("span", { className: `change ${tone}`, text: `${arrow}${delta.text}` });
}

function kpiCard(card, kpis) {
  return el("div", { className: "kpi", "data-kpi": card.key },
    el("p", { className: "kpi-label", text: card.label }),
    el("p", { className: "kpi-value", "data-value": String(kpis[card.key] ?? ""), text: FORMATTERS[card.kind](kpis[card.key]) }),
    el("p", { className: "kpi-meta" }, changeBadge(card, kpis),
      hintFor(card, kpis) ? el("span", { className: "muted", text: ` · ${hintFor(card, kpis)}` }) : null));
}

function hintFor(card, kpis) {
  if (card.key === "historic_clv" && !isMissing(kpis.historic_clv_median)) {
    return `median ${formatMoney(kpis.historic_clv_median)}`;
  }
  if (card.key === "median_days_between_orders" && !isMissing(kpis.mean_days_between_orders)) {
    return `mean ${formatDays(kpis.mean_days_between_orders)}`;
  }
  if (card.key === "customer_retention_rate" && kpis.active_days) {
    return `active = ordered in the last ${formatNumber(kpis.active_days)} days`;
  }
  if (card.key === "repeat_within_90_days_rate" && !isMissing(kpis.repeat_within_90_days_eligible)) {
    return `of ${formatNumber(kpis.repeat_within_90_days_eligible)} new customers with 90 days passed`;
  }
  return card.hint;
}

function rateComparison(kpis) {
  const pair = [
    { key: "repeat_purchase_rate", label: "Repeat purchase rate", kind: "rate" },
    { key: "returning_customer_rate", label: "Returning customer rate", kind: "rate" },
  ];
  return el("div", { className: "kpi-pair", "data-kpi": "rate-comparison" },
    el("div", { className: "kpi-pair-values" }, ...pair.map((card) => kpiCard(card, kpis))),
    el("p", { className: "muted explain", text: "Repeat purchase rate counts customers who ordered at least twice within this period; returning customer rate (Shopify’s definition) counts this period’s customers who have ordered at least twice ever, so it is usually higher." }));
}

function freshnessText(kpis) {
  if (!kpis.computed_at) return "";
  const at = new Date(kpis.computed_at);
  if (Number.isNaN(at.getTime())) return "";
  const sameDay = at.toDateString() === new Date().toDateString();
  const time = at.toLocaleString(undefined, sameDay
    ? { hour: "2-digit", minute: "2-digit" }
    : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  return kpis.is_current === false
    ? `Figures as of ${time}; newer orders are being added and show within a minute or two.`
    : `Figures as of ${time}.`;
}

export function renderKpis(kpis) {
  if (kpis.currency) state.currency = kpis.currency;
  const note = document.getElementById("kpi-compare-note");
  const days = daysBetween(state.range.from, state.range.to) + 1;
  note.textContent = `Changes compare with the previous ${days} days. ${freshnessText(kpis)}`.trim();
  if (Number(kpis.orders) === 0) {
    return empty("No orders in this period yet",
      `Once customers order between ${formatDate(state.range.from)} and ${formatDate(state.range.to)}, their numbers show up here. Try a longer period to include older orders.`);
  }
  return ready(
    el("div", { className: "kpi-grid" }, ...KPI_CARDS.map((card) => kpiCard(card, kpis))),
    rateComparison(kpis));
}
