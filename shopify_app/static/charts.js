// Small inline-SVG charts: no library, no CDN. Every label goes in through textContent.
const SVG_NS = "http://www.w3.org/2000/svg";
const MARGIN = { top: 12, right: 28, bottom: 28, left: 64 };

function svg(name, attrs = {}) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

function svgText(content, attrs) {
  const node = svg("text", attrs);
  node.textContent = content;
  return node;
}

// Pick a tick step of 1, 2, 2.5 or 5 times a power of ten giving at most five intervals,
// and round the axis top up to a whole number of steps, so tick labels read well.
// Counts (integer) get whole steps only: "2.5 answers" is not a tick anyone wants to read.
export function niceScale(maxValue, integer = false) {
  if (!(maxValue > 0)) return integer ? { top: 1, step: 1 } : { top: 1, step: 0.25 };
  const rough = maxValue / 5;
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const factors = integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  const step = Math.max(integer ? 1 : 0, factors.find((f) => f * power >= rough) * power);
  return { top: step * Math.ceil(maxValue / step - 1e-9), step };
}

function frame(width, height, label) {
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart",
    role: "img",
    preserveAspectRatio: "xMidYMid meet",
  });
  const title = svg("title");
  title.textContent = label;
  root.append(title);
  return root;
}

function yAxis(root, { scale, width, height, format }) {
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const ticks = Math.round(scale.top / scale.step);
  for (let i = 0; i <= ticks; i += 1) {
    const value = scale.step * i;
    const y = MARGIN.top + plotHeight - (plotHeight * i) / ticks;
    root.append(svg("line", {
      x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y, class: "chart-grid",
    }));
    root.append(svgText(format(value), {
      x: MARGIN.left - 8, y: y + 4, "text-anchor": "end", class: "chart-label",
    }));
  }
}

// Label at most ~6 x positions so week labels never overlap.
function xLabels(root, labels, xFor, height, alignLast = false) {
  const every = Math.max(1, Math.ceil(labels.length / 6));
  labels.forEach((label, i) => {
    if (i % every !== 0 && i !== labels.length - 1) return;
    // The last label ends at its point so it never runs off the right edge.
    const anchor = alignLast && i === labels.length - 1 && labels.length > 1 ? "end" : "middle";
    root.append(svgText(label, {
      x: xFor(i), y: height - 8, "text-anchor": anchor, class: "chart-label",
    }));
  });
}

function legend(items) {
  const list = document.createElement("ul");
  list.className = "legend";
  for (const item of items) {
    const entry = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch ${item.className}`;
    entry.append(swatch, document.createTextNode(item.label));
    list.append(entry);
  }
  return list;
}

/**
 * Draw one line over evenly spaced x labels; null values leave a gap.
 * points: [{label, value}], format: number -> string.
 */
export function lineChart(points, { label, format, width = 560, height = 220 }) {
  const root = frame(width, height, label);
  const values = points.map((p) => p.value).filter((v) => v !== null && v !== undefined);
  const scale = niceScale(Math.max(0, ...values));
  const top = scale.top;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const xFor = (i) => MARGIN.left + (points.length < 2 ? plotWidth / 2 : (plotWidth * i) / (points.length - 1));
  const yFor = (v) => MARGIN.top + plotHeight - (plotHeight * v) / top;
  yAxis(root, { scale, width, height, format });
  xLabels(root, points.map((p) => p.label), xFor, height, true);

  let path = "";
  points.forEach((p, i) => {
    if (p.value === null || p.value === undefined) {
      path += " ";
      return;
    }
    const command = path === "" || path.endsWith(" ") ? "M" : "L";
    path += `${command}${xFor(i).toFixed(1)},${yFor(p.value).toFixed(1)}`;
  });
  if (path.trim()) root.append(svg("path", { d: path.trim().replace(/ +/g, " "), class: "chart-line" }));
  points.forEach((p, i) => {
    if (p.value === null || p.value === undefined) return;
    const dot = svg("circle", { cx: xFor(i), cy: yFor(p.value), r: 3, class: "chart-dot" });
    const tip = svg("title");
    tip.textContent = `${p.label}: ${format(p.value)}`;
    dot.append(tip);
    root.append(dot);
  });
  return root;
}

/**
 * Draw stacked bars, one per x label.
 * bars: [{label, parts: [number, ...]}], series: [{label, className}] in stacking order;
 * integer: true for counts, so the axis only has whole-number ticks.
 */
export function stackedBarChart(bars, series, { label, format, width = 560, height = 220, integer = false }) {
  const wrapper = document.createElement("div");
  const root = frame(width, height, label);
  const totals = bars.map((b) => b.parts.reduce((sum, v) => sum + (v || 0), 0));
  const scale = niceScale(Math.max(0, ...totals), integer);
  const top = scale.top;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const slot = plotWidth / Math.max(1, bars.length);
  const barWidth = Math.max(2, Math.min(28, slot * 0.7));
  const xFor = (i) => MARGIN.left + slot * i + slot / 2;
  yAxis(root, { scale, width, height, format });
  xLabels(root, bars.map((b) => b.label), xFor, height);

  bars.forEach((bar, i) => {
    let base = MARGIN.top + plotHeight;
    bar.parts.forEach((value, s) => {
      const h = (plotHeight * (value || 0)) / top;
      if (h <= 0) return;
      base -= h;
      const rect = svg("rect", {
        x: xFor(i) - barWidth / 2, y: base, width: barWidth, height: h,
        class: `chart-bar ${series[s].className}`,
      });
      const tip = svg("title");
      tip.textContent = `${bar.label} · ${series[s].label}: ${format(value || 0)}`;
      rect.append(tip);
      root.append(rect);
    });
  });
  wrapper.append(root, legend(series));
  return wrapper;
}

// Map a share in 0..1 to a background from pale to deep green; text flips to white when dark.
export function heatColor(share) {
  const t = Math.max(0, Math.min(1, share));
  const light = 96 - t * 62;
  return { background: `hsl(152, 55%, ${light.toFixed(0)}%)`, dark: light < 58 };
}
