// Webhook deliveries the app kept but could not process, each dead one with a replay button.
import { api } from "../api.js";
import { el, ready, table } from "./dom.js";
import { formatDateTime, formatNumber } from "./format.js";
import { load } from "./loader.js";

const ERROR_PREVIEW_CHARS = 160;
let replayNote = null;

function problemStatus(problem) {
  if (problem.status === "dead") return `Stopped after ${formatNumber(problem.attempts)} attempts`;
  return `Retrying automatically · ${formatNumber(problem.attempts)} ${problem.attempts === 1 ? "attempt" : "attempts"} so far`;
}

function replayButton(problem) {
  const button = el("button", {
    type: "button", className: "secondary small", text: "Replay",
    "data-replay": String(problem.id), "aria-label": `Replay delivery ${problem.id} (${problem.topic})`,
  });
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Replaying…";
    try {
      await api(`/api/webhooks/problems/${problem.id}/replay`, { method: "POST" });
      replayNote = `The ${problem.topic} delivery of ${formatDateTime(problem.received_at)} is queued again and will be processed shortly.`;
      loadWebhookProblems();
    } catch (err) {
      button.disabled = false;
      button.textContent = "Replay";
      button.closest("td").append(el("p", { className: "inline-error", role: "alert", text: `Replay failed: ${err.message}` }));
    }
  });
  return button;
}

function renderWebhookProblems(data) {
  const problems = data.problems || [];
  // The note about a replay shows once, on the reload the replay caused.
  const note = replayNote ? el("p", { className: "banner success", role: "status", text: replayNote }) : null;
  replayNote = null;
  if (problems.length === 0) {
    if (!note) return { state: "empty", nodes: [] };
    return ready(note, el("p", { className: "muted", text: "Every other webhook delivery was processed." }));
  }
  const headers = [
    { label: "Topic" }, { label: "Received" }, { label: "Status" },
    { label: "Last error" }, { label: "", numeric: true },
  ];
  const rows = problems.map((p) => {
    const error = String(p.last_error || "—");
    const preview = el("span", { className: "error-text",
      text: error.length > ERROR_PREVIEW_CHARS ? `${error.slice(0, ERROR_PREVIEW_CHARS - 1)}…` : error });
    if (error.length > ERROR_PREVIEW_CHARS) preview.title = error;
    return [p.topic, formatDateTime(p.received_at), problemStatus(p), preview,
      p.status === "dead" ? replayButton(p) : el("span", { className: "muted", text: "queued" })];
  });
  return ready(note, table(headers, rows, "problems-table"),
    el("p", { className: "muted chart-note", text: "Shopify delivered these events and the app kept them, but could not process them. Failed deliveries are retried with growing pauses; after the last attempt they stop here. Replay one once its cause is fixed (for example after updating the app)." }));
}

export function loadWebhookProblems() {
  return load("webhook-problems", "/api/webhooks/problems", renderWebhookProblems, 2);
}
