// Calendar dates as "YYYY-MM-DD" strings, and today's in the shop's time zone, not the browser's.
import { state } from "./state.js";

export function todayInShopZone() {
  try {
    return new Intl.DateTimeFormat("en-CA", {
      timeZone: state.timezone, year: "numeric", month: "2-digit", day: "2-digit",
    }).format(new Date());
  } catch (_err) {
    return new Date().toISOString().slice(0, 10);
  }
}

export function addDays(iso, days) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

export function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400000);
}
