// The flow results: per step, what was sent, what converted, and the lift over the holdout.
import { el, empty, ready, table } from "./dom.js";
import { formatMoney, formatNumber, formatPercent, isMissing } from "./format.js";
import { state } from "./state.js";

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

export function renderFlows(data) {
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
