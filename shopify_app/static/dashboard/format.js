// How the page writes money, counts, percentages and dates: in the shop's currency and time
// zone, in the browser's locale, with a dash for a value the API left out.
import { state } from "./state.js";

export function isMissing(value) {
  return value === null || value === undefined || value === "";
}

export function formatMoney(value, currency = state.currency) {
  if (isMissing(value)) return "—";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(Number(value));
  } catch (_err) {
    return `${Number(value).toFixed(2)} ${currency}`;
  }
}

export function formatCompactMoney(value) {
  try {
    return new Intl.NumberFormat(undefined, {
      style: "currency", currency: state.currency, notation: "compact", maximumFractionDigits: 1,
    }).format(value);
  } catch (_err) {
    return String(Math.round(value));
  }
}

export function formatPercent(value) {
  if (isMissing(value)) return "—";
  return new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 }).format(Number(value));
}

export function formatNumber(value, digits = 0) {
  if (isMissing(value)) return "—";
  return new Intl.NumberFormat(undefined, {
    minimumFractionDigits: digits, maximumFractionDigits: digits,
  }).format(Number(value));
}

export function formatDays(value) {
  if (isMissing(value)) return "—";
  const n = Number(value);
  return `${formatNumber(n, Number.isInteger(n) ? 0 : 1)} ${n === 1 ? "day" : "days"}`;
}

export function formatDate(iso) {
  if (isMissing(iso)) return "—";
  const [y, m, d] = String(iso).slice(0, 10).split("-").map(Number);
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, d)));
}

export function formatShortDate(iso) {
  const [y, m, d] = String(iso).slice(0, 10).split("-").map(Number);
  return new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, d)));
}

// A moment (received, completed) in the shop's time zone, like every other date on the page.
export function formatDateTime(iso) {
  if (isMissing(iso)) return "—";
  const options = { dateStyle: "medium", timeStyle: "short" };
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: state.timezone }).format(new Date(iso));
  } catch (_err) {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: "UTC" }).format(new Date(iso));
  }
}

export function formatMonth(iso) {
  const [y, m] = String(iso).slice(0, 7).split("-").map(Number);
  return new Intl.DateTimeFormat(undefined, { month: "short", year: "numeric", timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, 1)));
}

export const FORMATTERS = {
  money: (v) => formatMoney(v),
  count: (v) => formatNumber(v),
  ratio: (v) => formatNumber(v, 2),
  rate: (v) => formatPercent(v),
  days: (v) => formatDays(v),
};
