// The privacy requests Shopify forwarded, with a download for each customer data export.
import { download } from "../api.js";
import { el, empty, ready, table } from "./dom.js";
import { formatDateTime, isMissing } from "./format.js";

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

export function renderPrivacyRequests(data) {
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
