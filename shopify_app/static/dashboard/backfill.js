// The banners above the sections: the history import's progress, failures and limits.
import { api } from "../api.js";
import { el } from "./dom.js";
import { formatNumber, formatPercent } from "./format.js";

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

// While an import runs, check on it every 30 s; when it finishes, call *onImportFinished*
// to reload the numbers.
export async function loadBanners(onImportFinished) {
  const box = document.getElementById("banners");
  try {
    const wasImporting = Boolean(box.querySelector('[data-banner="backfill-running"]'));
    box.replaceChildren(...backfillBanners(await api("/api/backfill")));
    const isImporting = Boolean(box.querySelector('[data-banner="backfill-running"]'));
    if (isImporting) setTimeout(() => loadBanners(onImportFinished), BACKFILL_POLL_MS);
    if (wasImporting && !isImporting) onImportFinished();
  } catch (err) {
    box.replaceChildren(banner("warning", "Import status unavailable", `Could not check the history import: ${err.message}`, "backfill-error"));
  }
}
