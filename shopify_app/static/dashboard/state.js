// What every section of the page shares: the shop's currency and time zone, the chosen period
// and the cohort view. The page's own data attributes give the starting values.
const root = document.getElementById("app");

export const state = {
  currency: root.dataset.currency || "USD",
  timezone: root.dataset.timezone || "UTC",
  range: null,
  cohortMode: "month",
  cohorts: null,
};
