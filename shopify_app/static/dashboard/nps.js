// The Net Promoter Score for the period, and its answers per week.
import { stackedBarChart } from "../charts.js";
import { el, empty, ready } from "./dom.js";
import { formatNumber, formatPercent, formatShortDate, isMissing } from "./format.js";

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

export function renderNps(data) {
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
