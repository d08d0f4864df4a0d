// The products their buyers buy again most, and how soon.
import { empty, ready, table } from "./dom.js";
import { formatDays, formatNumber, formatPercent } from "./format.js";

export function renderProducts(data) {
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
