// The embedded dashboard: each section loads its own API and shows loading, empty, error or data.
// This module only wires the sections in dashboard/ to the page and decides when each loads.
import { bindAtRiskExport, renderAtRisk } from "./dashboard/at-risk.js";
import { loadBanners } from "./dashboard/backfill.js";
import { bindCohortToggle, renderCohorts } from "./dashboard/cohorts.js";
import { renderFlows } from "./dashboard/flows.js";
import { renderKpis } from "./dashboard/kpis.js";
import { load, loadInto } from "./dashboard/loader.js";
import { renderNps } from "./dashboard/nps.js";
import { bindRangePicker, presetRange, rangeDescription, rangeQuery } from "./dashboard/period.js";
import { renderPredictions } from "./dashboard/predictions.js";
import { renderPrivacyRequests } from "./dashboard/privacy.js";
import { renderProducts } from "./dashboard/products.js";
import { loadShopFooter } from "./dashboard/shop-status.js";
import { state } from "./dashboard/state.js";
import { loadWebhookProblems } from "./dashboard/webhook-problems.js";
import { renderRepeatRate, renderRevenueSplit } from "./dashboard/weekly.js";

// Reload what depends on the chosen period.
function loadRangeSections() {
  const q = rangeQuery();
  document.getElementById("range-label").textContent = rangeDescription(state.range);
  load("kpis", `/api/kpis?${q}`, renderKpis, 4);
  loadInto(`/api/kpis/timeseries?${q}`, [["repeat-rate", renderRepeatRate], ["revenue-split", renderRevenueSplit]], 5);
  load("cohorts", `/api/cohorts?${q}`, renderCohorts, 6);
  load("flows", `/api/flows/results?${q}`, renderFlows, 3);
  load("nps", `/api/nps?${q}`, renderNps, 4);
}

function loadAllSections() {
  loadRangeSections();
  load("predictions", "/api/predictions/summary", renderPredictions, 4);
  load("products", "/api/products/repurchase", renderProducts, 4);
  load("at-risk", "/api/customers/at-risk", renderAtRisk, 5);
  load("privacy", "/api/privacy/requests", renderPrivacyRequests, 3);
  loadWebhookProblems();
}

function start() {
  state.range = presetRange(Number(document.getElementById("range-preset").value));
  bindRangePicker(loadRangeSections);
  bindCohortToggle();
  bindAtRiskExport();
  loadShopFooter();
  loadBanners(loadAllSections);
  loadAllSections();
}

start();
