// The monthly cohort heatmap, shown as in-month or cumulative shares.
import { heatColor } from "../charts.js";
import { el, empty, ready, section, show } from "./dom.js";
import { formatMonth, formatNumber, formatPercent, isMissing } from "./format.js";
import { state } from "./state.js";

export function renderCohorts(data) {
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

export function bindCohortToggle() {
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
