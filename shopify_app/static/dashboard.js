// The embedded dashboard: each section loads its own API and shows loading, empty, error or data.
// Text from the API only ever goes in through textContent.
import { api, download } from "./api.js";
import { heatColor, lineChart, stackedBarChart } from "./charts.js";

const root = document.getElementById("app");
const state = {
  currency: root.dataset.currency || "USD",
  timezone: root.dataset.timezone || "UTC",
  range: null,
  cohortMode: "month",
  cohorts: null,
};

// ---------- formatting ----------

function isMissing(value) {
  return value === null || value === undefined || value === "";
}

function formatMoney(value, currency = state.currency) {
  if (isMissing(value)) return "—";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(Number(value));
  } catch (_err) {
    return `${Number(value).toFixed(2)} ${currency}`;
  }
}

function formatCompactMoney(value) {
  try {
    return new Intl.NumberFormat(undefined, {
      style: "currency", currency: state.currency, notation: "compact", maximumFractionDigits: 1,
    }).format(value);
  } catch (_err) {
    return String(Math.round(value));
  }
}

function formatPercent(value) {
  if (isMissing(value)) return "—";
  return new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 }).format(Number(value));
}

function formatNumber(value, digits = 0) {
  if (isMissing(value)) return "—";
  return new Intl.NumberFormat(undefined, {
    minimumFractionDigits: digits, maximumFractionDigits: digits,
  }).format(Number(value));
}

function formatDays(value) {
  if (isMissing(value)) return "—";
  const n = Number(value);
  return `${formatNumber(n, Number.isInteger(n) ? 0 : 1)} ${n === 1 ? "day" : "days"}`;
}

function formatDate(iso) {
  if (isMissing(iso)) return "—";
  const [y, m, d] = String(iso).slice(0, 10).split("-").map(Number);
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, d)));
}

function formatShortDate(iso) {
  const [y, m, d] = String(iso).slice(0, 10).split("-").map(Number);
  return new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, d)));
}

// A moment (received, completed) in the shop's time zone, like every other date on the page.
function formatDateTime(iso) {
  if (isMissing(iso)) return "—";
  const options = { dateStyle: "medium", timeStyle: "short" };
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: state.timezone }).format(new Date(iso));
  } catch (_err) {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: "UTC" }).format(new Date(iso));
  }
}

function formatMonth(iso) {
  const [y, m] = String(iso).slice(0, 7).split("-").map(Number);
  return new Intl.DateTimeFormat(undefined, { month: "short", year: "numeric", timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, 1)));
}

const FORMATTERS = {
  money: (v) => formatMoney(v),
  count: (v) => formatNumber(v),
  ratio: (v) => formatNumber(v, 2),
  rate: (v) => formatPercent(v),
  days: (v) => formatDays(v),
};

// ---------- dates in the shop's time zone ----------

function todayInShopZone() {
  try {
    return new Intl.DateTimeFormat("en-CA", {
      timeZone: state.timezone, year: "numeric", month: "2-digit", day: "2-digit",
    }).format(new Date());
  } catch (_err) {
    return new Date().toISOString().slice(0, 10);
  }
}

function addDays(iso, days) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400000);
}

function presetRange(days) {
  const to = todayInShopZone();
  return { from: addDays(to, -(days - 1)), to, label: `last ${days} days` };
}

function rangeDescription(range) {
  return `${range.label} · ${formatDate(range.from)} – ${formatDate(range.to)}`;
}

function rangeQuery() {
  return `from=${state.range.from}&to=${state.range.to}`;
}

// ---------- DOM helpers ----------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function section(name) {
  return document.querySelector(`[data-section="${name}"]`);
}

// A quiet section (data-quiet) only takes space when it has something to say: hidden while
// empty, and it stays as it was while it reloads, so it never flashes a skeleton.
function show(name, sectionState, ...children) {
  const node = section(name);
  node.querySelector(".section-body").replaceChildren(...children);
  node.dataset.state = sectionState;
  node.setAttribute("aria-busy", sectionState === "loading" ? "true" : "false");
  if (node.dataset.quiet && sectionState !== "loading") node.hidden = sectionState === "empty";
}

function skeleton(lines) {
  const box = el("div", { className: "skeleton", role: "status" }, el("span", { className: "visually-hidden", text: "Loading…" }));
  for (let i = 0; i < lines; i += 1) box.append(el("div", { className: "skeleton-line" }));
  return box;
}

function emptyState(title, text) {
  return el("div", { className: "empty-state" },
    el("p", { className: "empty-title", text: title }),
    el("p", { className: "muted", text }));
}

function errorState(message, retry) {
  const button = el("button", { type: "button", className: "secondary", text: "Try again" });
  button.addEventListener("click", retry);
  return el("div", { className: "banner critical", role: "alert" },
    el("p", { className: "banner-title", text: "This section could not be loaded." }),
    el("p", { className: "error-message", text: message }),
    button);
}

// Load one API answer into one or more sections; a newer request makes older answers stale.
const generations = {};
async function loadInto(path, targets, skeletonLines = 3) {
  const key = targets.map(([name]) => name).join(",");
  const generation = (generations[key] || 0) + 1;
  generations[key] = generation;
  const retry = () => loadInto(path, targets, skeletonLines);
  for (const [name] of targets) show(name, "loading", skeleton(skeletonLines));
  let data;
  try {
    data = await api(path);
  } catch (err) {
    if (generations[key] === generation) {
      for (const [name] of targets) show(name, "error", errorState(err.message, retry));
    }
    return;
  }
  if (generations[key] !== generation) return;
  for (const [name, render] of targets) {
    try {
      const result = render(data);
      show(name, result.state, ...result.nodes);
    } catch (err) {
      show(name, "error", errorState(`Unexpected answer from ${path}: ${err.message}`, retry));
    }
  }
}

function load(name, path, render, skeletonLines) {
  return loadInto(path, [[name, render]], skeletonLines);
}

const ready = (...nodes) => ({ state: "ready", nodes: nodes.filter((n) => n !== null && n !== undefined) });
const empty = (title, text) => ({ state: "empty", nodes: [emptyState(title, text)] });

function table(headers, rows, className = "") {
  const head = el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h.label, className: h.numeric ? "numeric" : "" }))));
  const body = el("tbody");
  for (const row of rows) {
    // A cell is text, or a node (a button) for the few tables with actions.
    body.append(el("tr", {}, ...row.map((cell, i) => (cell instanceof Node
      ? el("td", { className: headers[i].numeric ? "numeric" : "" }, cell)
      : el("td", { text: cell, className: headers[i].numeric ? "numeric" : "" })))));
  }
  return el("div", { className: "table-wrap" }, el("table", { className }, head, body));
}

// ---------- KPI cards ----------

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

function renderKpis(kpis) {
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

// ---------- time series ----------

function weekPoints(series) {
  return (series.weeks || []).map((w) => ({
    label: `${formatShortDate(w.week_start)}${w.is_complete === false ? "*" : ""}`,
    week: w,
  }));
}

const PARTIAL_WEEK_NOTE = "* week not complete yet or cut by the period’s edge.";

function hasPartialWeek(series) {
  return (series.weeks || []).some((w) => w.is_complete === false);
}

function renderRepeatRate(series) {
  const points = weekPoints(series).map(({ label, week }) => ({
    label, value: isMissing(week.repeat_rate) ? null : Number(week.repeat_rate),
  }));
  if (!points.some((p) => p.value !== null)) {
    return empty("No customers in this period", "The weekly repeat rate appears once customers have placed orders.");
  }
  const note = `Share of each week’s customers who had ordered before. ${hasPartialWeek(series) ? PARTIAL_WEEK_NOTE : ""}`;
  return ready(
    lineChart(points, { label: "Weekly repeat rate", format: (v) => formatPercent(v) }),
    el("p", { className: "muted chart-note", text: note.trim() }));
}

function renderRevenueSplit(series) {
  if (series.currency) state.currency = series.currency;
  const bars = weekPoints(series).map(({ label, week }) => ({
    label, parts: [Number(week.new_customer_revenue || 0), Number(week.returning_customer_revenue || 0)],
  }));
  if (!bars.some((b) => b.parts[0] + b.parts[1] > 0)) {
    return empty("No revenue in this period", "Weekly revenue from new and returning customers appears once orders come in.");
  }
  const totalNew = bars.reduce((sum, b) => sum + b.parts[0], 0);
  const totalReturning = bars.reduce((sum, b) => sum + b.parts[1], 0);
  const parts = [
    { label: `New customers · ${formatMoney(totalNew)}`, className: "series-new" },
    { label: `Returning customers · ${formatMoney(totalReturning)}`, className: "series-returning" },
  ];
  return ready(stackedBarChart(bars, parts, { label: "Weekly revenue, new vs returning customers", format: formatCompactMoney }));
}

// ---------- cohorts ----------

function renderCohorts(data) {
  state.cohorts = data;
  const rows = data.cohorts || [];
  if (!rows.some((row) => row.size > 0)) {
    return empty("No cohorts in this period", "A cohort is the customers whose first-ever order fell in the same month. Cohorts appear once first orders fall in the chosen period.");
  }
  const offsets = data.offsets && data.offsets.length ? data.offsets : Array.from({ length: 12 }, (_, i) => i + 1);
  const head = el("tr", {}, el("th", { scope: "col", text: "First order" }), el("th", { scope: "col", className: "numeric", text: "Customers" }));
  for (const k of offsets) head.append(el("th", { scope: "col", className: "numeric", text: `+${k} mo` }));
  const body = el("tbody");
  for (const row of rows) {
    const tr = el("tr", {},
      el("th", { scope: "row", text: formatMonth(row.month) }),
      el("td", { className: "numeric", text: formatNumber(row.size) }));
    for (const k of offsets) tr.append(cohortCell((row.cells || []).find((c) => c.offset === k)));
    body.append(tr);
  }
  const what = state.cohortMode === "month"
    ? "Each cell: share of the cohort that ordered in that calendar month after their first order."
    : "Each cell: share of the cohort that has ordered again by the end of that month.";
  return ready(
    el("div", { className: "table-wrap" }, el("table", { className: "heatmap" }, el("thead", {}, head), body)),
    el("p", { className: "muted chart-note", text: `${what} Hatched cells: month not complete yet.` }));
}

function cohortCell(cell) {
  const td = el("td", { className: "numeric heat" });
  if (!cell || !cell.is_complete) {
    td.classList.add("incomplete");
    td.title = "Not complete yet";
    td.append(el("span", { className: "visually-hidden", text: "not complete yet" }));
    return td;
  }
  const share = state.cohortMode === "month" ? cell.share : cell.cumulative_share;
  if (isMissing(share)) {
    td.classList.add("no-data");
    td.textContent = "–";
    td.title = "No customers in this cohort";
    return td;
  }
  const color = heatColor(Number(share));
  td.style.backgroundColor = color.background;
  if (color.dark) td.classList.add("dark");
  td.textContent = formatPercent(share);
  if (!isMissing(cell.customers)) td.title = `${formatNumber(cell.customers)} customers`;
  return td;
}

function bindCohortToggle() {
  for (const button of document.querySelectorAll("[data-cohort-mode]")) {
    button.addEventListener("click", () => {
      state.cohortMode = button.dataset.cohortMode;
      for (const other of document.querySelectorAll("[data-cohort-mode]")) {
        other.setAttribute("aria-pressed", String(other === button));
      }
      if (state.cohorts && section("cohorts").dataset.state === "ready") {
        const result = renderCohorts(state.cohorts);
        show("cohorts", result.state, ...result.nodes);
      }
    });
  }
}

// ---------- predictions, at-risk, products, flows ----------

const MODEL_BADGES = {
  fitted: ["success", "Fitted to your store"],
  prior: ["attention", "Using the starting estimate (prior)"],
  pending: ["neutral", "Not computed yet"],
};

function renderPredictions(summary) {
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

function renderAtRisk(data) {
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

function renderProducts(data) {
  const products = data.products || [];
  if (products.length === 0) {
    return empty("No repurchases yet", "Products appear here once some of their buyers buy them again.");
  }
  const headers = [
    { label: "Product" }, { label: "Buyers", numeric: true },
    { label: "Bought again", numeric: true }, { label: "Median days to repurchase", numeric: true },
  ];
  const rows = products.map((p) => [
    p.title || `Product ${p.product_id}`,
    formatNumber(p.buyers),
    `${formatPercent(p.repurchase_rate)} (${formatNumber(p.repurchasers)})`,
    formatDays(p.median_days_to_repurchase),
  ]);
  return ready(table(headers, rows));
}

const FLOW_LABELS = {
  abandoned_checkout: "Abandoned checkout",
  replenishment: "Replenishment reminder",
  review_request: "Review request",
  win_back: "Win-back",
};

function flowLabel(key) {
  if (FLOW_LABELS[key]) return FLOW_LABELS[key];
  const words = String(key).replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function signedPoints(value) {
  const points = Math.round(Number(value) * 1000) / 10;
  return `${points > 0 ? "+" : ""}${formatNumber(points, 1)} pts`;
}

// Treated vs control: the lift only means something when the step had a holdout group.
function liftText(step) {
  if (isMissing(step.conversion_lift)) return step.held_out ? "too few yet" : "no holdout";
  const interval = step.conversion_lift_ci95;
  const bound = (v) => signedPoints(v).replace(" pts", "");
  const range = interval ? ` (${bound(interval[0])} to ${bound(interval[1])})` : "";
  return `${signedPoints(step.conversion_lift)}${range}`;
}

function conversionText(step) {
  const treated = step.treated ? step.treated.conversion_rate : null;
  const control = step.control ? step.control.conversion_rate : null;
  if (isMissing(treated)) return "—";
  return isMissing(control) ? formatPercent(treated) : `${formatPercent(treated)} vs ${formatPercent(control)}`;
}

function renderFlows(data) {
  if (data.currency) state.currency = data.currency;
  const steps = data.steps || [];
  if (steps.length === 0) {
    return empty("No flow messages in this period", "Results of your flows appear here once they plan messages in the chosen period.");
  }
  const headers = [
    { label: "Flow" }, { label: "Step", numeric: true }, { label: "Sent", numeric: true },
    { label: "Held out", numeric: true }, { label: "Orders", numeric: true },
    { label: "Conversion, sent vs held out", numeric: true }, { label: "Lift (95% CI)", numeric: true },
    { label: "Attributed revenue", numeric: true }, { label: "Incremental revenue", numeric: true },
  ];
  let previousFlow = null;
  const rows = steps.map((step) => {
    const name = step.flow === previousFlow ? "" : flowLabel(step.flow);
    previousFlow = step.flow;
    return [
      name,
      formatNumber(step.step),
      formatNumber(step.sent),
      formatNumber(step.held_out),
      formatNumber(step.converted),
      conversionText(step),
      liftText(step),
      formatMoney(step.attributed_revenue),
      formatMoney(step.incremental_revenue),
    ];
  });
  return ready(table(headers, rows, "flows-table"),
    el("p", { className: "muted chart-note", text: "Orders are credited to the latest message a customer got within the attribution window. Lift compares customers who were sent a message with the held-out control group." }));
}

// ---------- NPS ----------

// NPS is a number of points from -100 to +100; a plus sign makes a positive score read as one.
function formatNps(value) {
  if (isMissing(value)) return "—";
  const n = Number(value);
  const text = formatNumber(n, Number.isInteger(n) ? 0 : 1);
  return n > 0 ? `+${text}` : text;
}

const NPS_GROUPS = [
  { key: "promoters", label: "Promoters", scores: "9–10", className: "series-promoters" },
  { key: "passives", label: "Passives", scores: "7–8", className: "series-passives" },
  { key: "detractors", label: "Detractors", scores: "0–6", className: "series-detractors" },
];

function renderNps(data) {
  const responses = Number(data.responses || 0);
  if (responses === 0) {
    return empty("No answers in this period",
      "Review request emails ask customers “How likely are you to recommend us?” on a scale of 0 to 10. Your Net Promoter Score appears here once they answer.");
  }
  const share = (key) => Number(data[key] || 0) / responses;
  const explanation = `% promoters minus % detractors: ${formatPercent(share("promoters"))} − ${formatPercent(share("detractors"))} = ${formatNps(data.nps)}. It ranges from −100 to +100; passives count only in the total.`;
  const bar = el("div", { className: "share-bar", role: "img",
    "aria-label": NPS_GROUPS.map((g) => `${g.label} ${formatPercent(share(g.key))}`).join(", ") });
  for (const group of NPS_GROUPS) {
    if (share(group.key) > 0) {
      const part = el("span", { className: `share ${group.className}`, title: `${group.label}: ${formatPercent(share(group.key))}` });
      part.style.width = `${(share(group.key) * 100).toFixed(2)}%`;
      bar.append(part);
    }
  }
  const counts = el("dl", { className: "facts nps-counts" });
  for (const group of NPS_GROUPS) {
    counts.append(
      el("dt", {}, el("span", { className: `swatch ${group.className}` }), ` ${group.label} (${group.scores})`),
      el("dd", { "data-nps-count": group.key, text: `${formatNumber(data[group.key])} · ${formatPercent(share(group.key))}` }));
  }
  counts.append(el("dt", { text: "Answers" }), el("dd", { "data-nps-count": "responses", text: formatNumber(responses) }));
  const summary = el("div", { className: "nps-summary" },
    el("p", { className: "kpi-label", text: "Score for the period" }),
    el("p", { className: "nps-score", "data-value": String(data.nps ?? ""), text: formatNps(data.nps) }),
    el("p", { className: "muted explain nps-explain", text: explanation }),
    bar, counts);
  const bars = (data.weeks || []).map((w) => ({
    label: formatShortDate(w.week_start),
    parts: NPS_GROUPS.map((g) => Number(w[g.key] || 0)),
  }));
  const chart = el("div", { className: "nps-chart" },
    el("p", { className: "kpi-label", text: "Answers per week" }),
    stackedBarChart(bars, NPS_GROUPS.map((g) => ({ label: `${g.label} (${g.scores})`, className: g.className })),
      { label: "NPS answers per week by group", format: (v) => formatNumber(v), integer: true, width: 720, height: 240 }),
    el("p", { className: "muted chart-note", text: "Weeks start on Monday; answers count on the day they were given." }));
  return ready(el("div", { className: "nps-layout" }, summary, chart));
}

// ---------- data requests (privacy) ----------

const PRIVACY_TOPICS = {
  "customers/data_request": "Customer data request",
  "customers/redact": "Customer erasure",
  "shop/redact": "Store erasure",
};

function exportFilename(request) {
  const customer = isMissing(request.customer_shopify_id) ? "" : `-customer-${request.customer_shopify_id}`;
  return `data-request-${request.id}${customer}.json`;
}

function downloadButton(request) {
  const button = el("button", {
    type: "button", className: "secondary small", text: "Download",
    "data-export": String(request.id), "aria-label": `Download the export of request ${request.id}`,
  });
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Downloading…";
    try {
      await download(`/api/privacy/requests/${request.id}/export`, exportFilename(request));
      button.textContent = "Download";
    } catch (err) {
      button.textContent = "Try again";
      button.closest("td").append(el("p", { className: "inline-error", role: "alert", text: `Download failed: ${err.message}` }));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function renderPrivacyRequests(data) {
  const requests = data.requests || [];
  if (requests.length === 0) {
    return empty("No data requests",
      "When a customer asks your store for the data it holds about them, Shopify forwards the request here with an export for you to download. Erasure requests are listed too once carried out.");
  }
  const headers = [
    { label: "Request" }, { label: "Customer" }, { label: "Received" },
    { label: "Completed" }, { label: "Export", numeric: true },
  ];
  const rows = requests.map((r) => {
    let exportCell = "—";
    if (r.has_export) exportCell = downloadButton(r);
    else if (r.topic === "customers/data_request") exportCell = "not available";
    return [
      PRIVACY_TOPICS[r.topic] || r.topic,
      isMissing(r.customer_shopify_id) ? "—" : `Customer ${r.customer_shopify_id}`,
      formatDateTime(r.received_at),
      r.completed_at ? formatDateTime(r.completed_at) : "in progress",
      exportCell,
    ];
  });
  return ready(table(headers, rows, "requests-table"),
    el("p", { className: "muted chart-note", text: "Send a customer their export within 30 days of their request. Erasures are carried out automatically; the completed time is when their data was removed." }));
}

// ---------- webhook deliveries needing attention ----------

const ERROR_PREVIEW_CHARS = 160;
let replayNote = null;

function problemStatus(problem) {
  if (problem.status === "dead") return `Stopped after ${formatNumber(problem.attempts)} attempts`;
  return `Retrying automatically · ${formatNumber(problem.attempts)} ${problem.attempts === 1 ? "attempt" : "attempts"} so far`;
}

function replayButton(problem) {
  const button = el("button", {
    type: "button", className: "secondary small", text: "Replay",
    "data-replay": String(problem.id), "aria-label": `Replay delivery ${problem.id} (${problem.topic})`,
  });
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Replaying…";
    try {
      await api(`/api/webhooks/problems/${problem.id}/replay`, { method: "POST" });
      replayNote = `The ${problem.topic} delivery of ${formatDateTime(problem.received_at)} is queued again and will be processed shortly.`;
      loadWebhookProblems();
    } catch (err) {
      button.disabled = false;
      button.textContent = "Replay";
      button.closest("td").append(el("p", { className: "inline-error", role: "alert", text: `Replay failed: ${err.message}` }));
    }
  });
  return button;
}

function renderWebhookProblems(data) {
  const problems = data.problems || [];
  // The note about a replay shows once, on the reload the replay caused.
  const note = replayNote ? el("p", { className: "banner success", role: "status", text: replayNote }) : null;
  replayNote = null;
  if (problems.length === 0) {
    if (!note) return { state: "empty", nodes: [] };
    return ready(note, el("p", { className: "muted", text: "Every other webhook delivery was processed." }));
  }
  const headers = [
    { label: "Topic" }, { label: "Received" }, { label: "Status" },
    { label: "Last error" }, { label: "", numeric: true },
  ];
  const rows = problems.map((p) => {
    const error = String(p.last_error || "—");
    const preview = el("span", { className: "error-text",
      text: error.length > ERROR_PREVIEW_CHARS ? `${error.slice(0, ERROR_PREVIEW_CHARS - 1)}…` : error });
    if (error.length > ERROR_PREVIEW_CHARS) preview.title = error;
    return [p.topic, formatDateTime(p.received_at), problemStatus(p), preview,
      p.status === "dead" ? replayButton(p) : el("span", { className: "muted", text: "queued" })];
  });
  return ready(note, table(headers, rows, "problems-table"),
    el("p", { className: "muted chart-note", text: "Shopify delivered these events and the app kept them, but could not process them. Failed deliveries are retried with growing pauses; after the last attempt they stop here. Replay one once its cause is fixed (for example after updating the app)." }));
}

function loadWebhookProblems() {
  return load("webhook-problems", "/api/webhooks/problems", renderWebhookProblems, 2);
}

// ---------- banners ----------

function banner(tone, title, text, name) {
  return el("div", { className: `banner ${tone}`, role: tone === "critical" ? "alert" : "status", "data-banner": name },
    el("p", { className: "banner-title", text: title }),
    text ? el("p", { text }) : null);
}

const KIND_LABELS = { orders: "Orders", checkouts: "Checkouts" };

function runProgress(run) {
  if (run.status === "pending") return "waiting to start";
  if (run.object_count && run.object_count > 0) {
    return `${formatPercent(Math.min(1, run.lines_processed / run.object_count))} imported`;
  }
  return run.imported_count ? `${formatNumber(run.imported_count)} imported so far` : "importing";
}

function backfillBanners(backfill) {
  const banners = [];
  const latest = {};
  for (const run of backfill.runs || []) {
    // Runs come newest first; the first one per kind is the one that matters.
    if (!latest[run.kind]) latest[run.kind] = run;
  }
  const runs = Object.values(latest).sort((a, b) => String(b.kind).localeCompare(String(a.kind)));
  const active = runs.filter((r) => r.status === "pending" || r.status === "running");
  if (active.length) {
    const parts = active.map((r) => `${KIND_LABELS[r.kind] || r.kind}: ${runProgress(r)}.`);
    banners.push(banner("info", "Importing your store’s history",
      `${parts.join(" ")} Until the import finishes, the numbers below only include what has arrived so far.`, "backfill-running"));
  }
  for (const run of runs.filter((r) => r.status === "failed")) {
    banners.push(banner("warning", `The ${String(KIND_LABELS[run.kind] || run.kind).toLowerCase()} import stopped`,
      `${run.error || "Unknown error"}. It resumes where it stopped on its next run.`, "backfill-failed"));
  }
  if (backfill.has_full_order_history === false) {
    const days = backfill.order_history_days || 60;
    banners.push(banner("warning", `Only the last ${days} days of orders are available`,
      `Shopify shares older orders only with apps granted the “read all orders” permission. Until then, cohorts, returning customers and predictions only see ${days} days of history.`, "history-limited"));
  }
  return banners;
}

const BACKFILL_POLL_MS = 30000;

// While an import runs, check on it every 30 s; when it finishes, reload the numbers.
async function loadBanners() {
  const box = document.getElementById("banners");
  try {
    const wasImporting = Boolean(box.querySelector('[data-banner="backfill-running"]'));
    box.replaceChildren(...backfillBanners(await api("/api/backfill")));
    const isImporting = Boolean(box.querySelector('[data-banner="backfill-running"]'));
    if (isImporting) setTimeout(loadBanners, BACKFILL_POLL_MS);
    if (wasImporting && !isImporting) loadAllSections();
  } catch (err) {
    box.replaceChildren(banner("warning", "Import status unavailable", `Could not check the history import: ${err.message}`, "backfill-error"));
  }
}

async function loadShopFooter() {
  const footer = document.getElementById("shop-status");
  try {
    const shop = await api("/api/shop");
    footer.textContent = `${shop.domain} · amounts in ${shop.currency} · dates in ${shop.iana_timezone}`;
  } catch (err) {
    footer.textContent = `Could not load your store: ${err.message}`;
  }
}

// ---------- range picker and refresh ----------

function loadRangeSections() {
  const q = rangeQuery();
  document.getElementById("range-label").textContent = rangeDescription(state.range);
  load("kpis", `/api/kpis?${q}`, renderKpis, 4);
  loadInto(`/api/kpis/timeseries?${q}`, [["repeat-rate", renderRepeatRate], ["revenue-split", renderRevenueSplit]], 5);
  load("cohorts", `/api/cohorts?${q}`, renderCohorts, 6);
  load("flows", `/api/flows/results?${q}`, renderFlows, 3);
  load("nps", `/api/nps?${q}`, renderNps, 4);
}

function bindRangePicker() {
  const form = document.getElementById("range-form");
  const preset = document.getElementById("range-preset");
  const custom = document.getElementById("custom-range");
  const from = document.getElementById("range-from");
  const to = document.getElementById("range-to");
  preset.addEventListener("change", () => {
    if (preset.value === "custom") {
      custom.hidden = false;
      from.value = state.range.from;
      to.value = state.range.to;
      from.focus();
      return;
    }
    custom.hidden = true;
    state.range = presetRange(Number(preset.value));
    loadRangeSections();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!from.value || !to.value) return;
    state.range = { from: from.value, to: to.value, label: "custom range" };
    loadRangeSections();
  });
}

function exportAtRisk() {
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

function start() {
  state.range = presetRange(Number(document.getElementById("range-preset").value));
  bindRangePicker();
  bindCohortToggle();
  exportAtRisk();
  loadShopFooter();
  loadBanners();
  loadAllSections();
}

function loadAllSections() {
  loadRangeSections();
  load("predictions", "/api/predictions/summary", renderPredictions, 4);
  load("products", "/api/products/repurchase", renderProducts, 4);
  load("at-risk", "/api/customers/at-risk", renderAtRisk, 5);
  load("privacy", "/api/privacy/requests", renderPrivacyRequests, 3);
  loadWebhookProblems();
}

start();
