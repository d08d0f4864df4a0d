// The Settings page: one form per flow, and the email template editor with a sandboxed preview.
// Every value from the API is inserted with textContent or as a form value, never as markup.
import { api } from "./api.js";

const TITLES = {
  messaging: "Rules for every flow",
  abandoned_checkout: "Abandoned checkout",
  replenishment: "Replenishment reminders",
  review_request: "Review and NPS requests",
  win_back: "Win-back",
};
const DESCRIPTIONS = {
  messaging: "Quiet hours (shop time zone), the most marketing emails a customer gets, and how long an order counts as won by an email.",
  abandoned_checkout: "Reminds buyers who left a checkout, until they order. Times are hours after the last checkout update.",
  replenishment: "Reminds a buyer before a product they bought should run out; cancelled if they reorder first.",
  review_request: "Asks for a 0-10 rating and product reviews once per order, after delivery (or after fulfillment when no delivery event comes). Refunded lines are left out.",
  win_back: "Writes to customers whose next order is overdue: their predicted date, or the shop's median gap times a factor, plus a margin.",
};
const HINTS = {
  quiet_hours_start: "HH:MM, shop time", quiet_hours_end: "HH:MM, shop time",
  frequency_cap_hours: "0-168; 0 = no cap", attribution_window_days: "1-60 days",
  holdout_share: "0-0.5 of eligible customers kept as a control group",
  step_delays_hours: "JSON list, e.g. [1, 24, 72]", audience: "see the note above",
  reminder_days_before: "0-60 days", min_repeat_pairs: "at least 2",
  use_learned_intervals: "learn from repeat purchases",
  intervals: 'JSON, e.g. {"123": 30} days per unit',
  days_after_delivery: "0-60 days", days_after_fulfillment: "1-90 days, at least the delivery delay",
  margin_days: "0-180 days", median_gap_factor: "1.0-10.0", resend_after_days: "30-730 days",
};

const el = (tag, props = {}, children = []) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
};
const label = (name) => name.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
const send = (path, method, body) =>
  api(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

function banner(message) {
  const box = document.getElementById("banners");
  box.replaceChildren(el("div", { class: "banner critical", role: "alert" }, [
    el("p", { class: "banner-title", text: "Something went wrong" }),
    el("p", { text: message }),
  ]));
}

// ---- flows ----
function input(field, value) {
  const id = `f-${field.flow}-${field.name}`;
  let control;
  if (field.choices) {
    control = el("select", { id, name: field.name });
    for (const choice of field.choices) control.append(el("option", { value: choice, text: choice }));
    control.value = value;
  } else if (field.type === "boolean") {
    control = el("input", { id, name: field.name, type: "checkbox" });
    control.checked = Boolean(value);
  } else if (field.type === "list" || field.type === "object") {
    control = el("textarea", { id, name: field.name, rows: 2, spellcheck: false });
    control.value = JSON.stringify(value);
  } else {
    const numeric = field.type === "integer" || field.type === "number";
    control = el("input", { id, name: field.name, type: numeric ? "number" : "text" });
    if (field.type === "number") control.step = "any";
    control.value = value === null || value === undefined ? "" : String(value);
  }
  control.dataset.type = field.type;
  return el("div", {}, [
    el("label", { htmlFor: id, text: label(field.name) }),
    control,
    el("p", { class: "hint muted", text: HINTS[field.name] || "" }),
  ]);
}

function readValue(control) {
  const type = control.dataset.type;
  if (type === "boolean") return control.checked;
  if (type === "integer" || type === "number") {
    return control.value.trim() === "" ? null : Number(control.value);
  }
  if (type === "list" || type === "object") {
    try {
      return JSON.parse(control.value);
    } catch (error) {
      throw new Error(`${control.name}: not valid JSON`);
    }
  }
  return control.value;
}

function flowCard(entry) {
  const form = el("form", { class: "flow-card", "aria-label": TITLES[entry.flow] || entry.flow });
  form.append(el("h3", { text: TITLES[entry.flow] || label(entry.flow) }));
  form.append(el("p", { class: "muted", text: DESCRIPTIONS[entry.flow] || "" }));
  let enabled = null;
  if (entry.flow !== "messaging") {
    enabled = el("input", { type: "checkbox", id: `enabled-${entry.flow}` });
    enabled.checked = entry.enabled;
    form.append(el("label", { class: "switch", htmlFor: enabled.id }, [enabled, "On"]));
  }
  if (entry.audience_param) {
    form.append(document.getElementById("audience-explanation").content.cloneNode(true));
  }
  const fields = el("div", { class: "flow-fields" });
  for (const field of entry.fields) {
    fields.append(input({ ...field, flow: entry.flow }, entry.params[field.name]));
  }
  form.append(fields);
  const status = el("span", { role: "status" });
  const save = el("button", { type: "submit", text: "Save" });
  form.append(el("div", { class: "actions" }, [save, status]));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.className = "";
    status.textContent = "Saving…";
    save.disabled = true;
    try {
      const params = {};
      for (const control of fields.querySelectorAll("input, select, textarea")) {
        const value = readValue(control);
        if (value !== null) params[control.name] = value;
      }
      await send(`/api/settings/flows/${encodeURIComponent(entry.flow)}`, "PUT", {
        enabled: enabled ? enabled.checked : true,
        params,
      });
      status.className = "saved";
      status.textContent = "Saved";
    } catch (error) {
      status.className = "field-error";
      status.textContent = error.message;
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

async function loadFlows() {
  const section = document.getElementById("flows");
  const body = document.getElementById("flows-body");
  try {
    const data = await api("/api/settings/flows");
    body.replaceChildren(...data.flows.map(flowCard));
    section.dataset.state = "ready";
    fillTemplatePicker(data.flows.filter((f) => f.flow !== "messaging"));
  } catch (error) {
    section.dataset.state = "error";
    body.replaceChildren(el("p", { class: "field-error", text: `Could not load the settings: ${error.message}` }));
    banner(error.message);
  } finally {
    section.setAttribute("aria-busy", "false");
  }
}

// ---- templates ----
const form = document.getElementById("template-form");
const flowSelect = document.getElementById("template-flow");
const stepSelect = document.getElementById("template-step");
const parts = {
  subject: document.getElementById("template-subject"),
  html: document.getElementById("template-html"),
  text: document.getElementById("template-text"),
};
const statusLine = document.getElementById("template-status");
const errorLine = document.getElementById("template-error");
let steps = {};

function showError(message) {
  errorLine.textContent = message;
  errorLine.hidden = !message;
}

function fillTemplatePicker(flows) {
  steps = Object.fromEntries(flows.map((f) => [f.flow, f.steps || 1]));
  flowSelect.replaceChildren(...flows.map((f) => el("option", { value: f.flow, text: TITLES[f.flow] || f.flow })));
  fillSteps();
  loadTemplate();
}

function fillSteps() {
  const count = steps[flowSelect.value] || 1;
  const options = [];
  for (let step = 1; step <= count; step += 1) options.push(el("option", { value: String(step), text: String(step) }));
  stepSelect.replaceChildren(...options);
}

const templatePath = () =>
  `/api/settings/templates/${encodeURIComponent(flowSelect.value)}/${encodeURIComponent(stepSelect.value)}`;

function showTemplate(view) {
  const source = view.override || {};
  for (const [name, control] of Object.entries(parts)) {
    control.value = source[name] != null ? source[name] : view.shipped[name];
  }
  statusLine.textContent = view.override ? "Your edited template is in use." : "The shipped template is in use.";
}

async function loadTemplate() {
  if (!flowSelect.value) return;
  statusLine.textContent = "Loading…";
  showError("");
  try {
    showTemplate(await api(templatePath()));
  } catch (error) {
    statusLine.textContent = "";
    showError(`Could not load the template: ${error.message}`);
  }
}

function edited() {
  return Object.fromEntries(Object.entries(parts).map(([name, control]) => [name, control.value]));
}

async function preview() {
  showError("");
  try {
    const rendered = await send("/api/settings/templates/preview", "POST", {
      flow: flowSelect.value, step: Number(stepSelect.value), ...edited(),
    });
    document.getElementById("preview-subject").textContent = rendered.subject;
    // The rendered email goes into a sandboxed frame: no scripts, no access to this page.
    document.getElementById("preview-frame").srcdoc = rendered.html;
    document.getElementById("preview").hidden = false;
  } catch (error) {
    showError(error.message);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("");
  statusLine.textContent = "Saving…";
  try {
    showTemplate(await send(templatePath(), "PUT", edited()));
    statusLine.textContent = "Saved. " + statusLine.textContent;
  } catch (error) {
    statusLine.textContent = "Not saved.";
    showError(error.message);
  }
});
document.getElementById("template-preview").addEventListener("click", preview);
document.getElementById("template-reset").addEventListener("click", async () => {
  showError("");
  try {
    showTemplate(await send(templatePath(), "DELETE"));
  } catch (error) {
    showError(error.message);
  }
});
flowSelect.addEventListener("change", () => { fillSteps(); loadTemplate(); });
stepSelect.addEventListener("change", loadTemplate);

loadFlows();
