// The period picker: a preset of the last N days or a custom range, always in the shop's time zone.
import { addDays, todayInShopZone } from "./dates.js";
import { formatDate } from "./format.js";
import { state } from "./state.js";

export function presetRange(days) {
  const to = todayInShopZone();
  return { from: addDays(to, -(days - 1)), to, label: `last ${days} days` };
}

export function rangeDescription(range) {
  return `${range.label} · ${formatDate(range.from)} – ${formatDate(range.to)}`;
}

export function rangeQuery() {
  return `from=${state.range.from}&to=${state.range.to}`;
}

// Call *onChange* whenever the chosen period changes, once state.range holds the new one.
export function bindRangePicker(onChange) {
  const form = document.getElementById("range-form");
  const preset = document.getElementById("range-preset");
  const custom = document.getElementById("custom-range");
  const from = document.getElementById("range-from");
  const to = document.getElementById("range-to");
  preset.addEventListener("change", () => {
    if (preset.value === "custom") {
      custom.hidden = false;
      from.value = state.range.from;
      to.value = state.range.to;
      from.focus();
      return;
    }
    custom.hidden = true;
    state.range = presetRange(Number(preset.value));
    onChange();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!from.value || !to.value) return;
    state.range = { from: from.value, to: to.value, label: "custom range" };
    onChange();
  });
}
