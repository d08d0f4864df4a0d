// Build the page's nodes, and switch a section between loading, empty, error and ready.
// Text from the API only ever goes in through textContent.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export function section(name) {
  return document.querySelector(`[data-section="${name}"]`);
}

// A quiet section (data-quiet) only takes space when it has something to say: hidden while
// empty, and it stays as it was while it reloads, so it never flashes a skeleton.
export function show(name, sectionState, ...children) {
  const node = section(name);
  node.querySelector(".section-body").replaceChildren(...children);
  node.dataset.state = sectionState;
  node.setAttribute("aria-busy", sectionState === "loading" ? "true" : "false");
  if (node.dataset.quiet && sectionState !== "loading") node.hidden = sectionState === "empty";
}

export function skeleton(lines) {
  const box = el("div", { className: "skeleton", role: "status" }, el("span", { className: "visually-hidden", text: "Loading…" }));
  for (let i = 0; i < lines; i += 1) box.append(el("div", { className: "skeleton-line" }));
  return box;
}

function emptyState(title, text) {
  return el("div", { className: "empty-state" },
    el("p", { className: "empty-title", text: title }),
    el("p", { className: "muted", text }));
}

export function errorState(message, retry) {
  const button = el("button", { type: "button", className: "secondary", text: "Try again" });
  button.addEventListener("click", retry);
  return el("div", { className: "banner critical", role: "alert" },
    el("p", { className: "banner-title", text: "This section could not be loaded." }),
    el("p", { className: "error-message", text: message }),
    button);
}

export const ready = (...nodes) => ({ state: "ready", nodes: nodes.filter((n) => n !== null && n !== undefined) });
export const empty = (title, text) => ({ state: "empty", nodes: [emptyState(title, text)] });

export function table(headers, rows, className = "") {
  const head = el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h.label, className: h.numeric ? "numeric" : "" }))));
  const body = el("tbody");
  for (const row of rows) {
    // A cell is text, or a node (a button) for the few tables with actions.
    body.append(el("tr", {}, ...row.map((cell, i) => (cell instanceof Node
      ? el("td", { className: headers[i].numeric ? "numeric" : "" }, cell)
      : el("td", { text: cell, className: headers[i].numeric ? "numeric" : "" })))));
  }
  return el("div", { className: "table-wrap" }, el("table", { className }, head, body));
}
