// The two weekly charts: repeat rate, and revenue from new and returning customers.
import { lineChart, stackedBarChart } from "../charts.js";
import { el, empty, ready } from "./dom.js";
import { formatCompactMoney, formatMoney, formatPercent, formatShortDate, isMissing } from "./format.js";
import { state } from "./state.js";

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

export function renderRepeatRate(series) {
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

export function renderRevenueSplit(series) {
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
