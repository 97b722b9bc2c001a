// Small hand-written SVG charts for the dashboard: columns (stacked or not), lines
// with an optional area, and horizontal bars. Each returns a <figure> with its title,
// an HTML legend (which wraps, unlike SVG text) and the SVG drawn in a fixed viewBox
// scaled to the width of its card. Every mark has a <title> for hovering, and the
// figure an aria-label that says what the chart shows.

import { h } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const FONT = 13; // px in viewBox units; the card is about as wide as the viewBox
const AXIS = "#52606d";
const GRID = "#e4e8ec";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined && v !== false) el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === "") continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const tip = (text) => s("title", {}, text);

/** A round top for a count axis: {max, step}, step a whole 1, 2 or 5 × 10^k. */
export function niceScale(max, ticks = 4) {
  if (!(max > 0)) return { max: ticks, step: 1 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * mag).find((st) => st >= raw));
  return { max: step * Math.ceil(max / step), step };
}

/** Rough width of a label in px at `size`: CJK characters are square, others narrower. */
export function textWidth(text, size = FONT) {
  let w = 0;
  for (const ch of String(text)) w += /[\u2E80-\uFFFF]/.test(ch) ? size : size * 0.58;
  return w;
}

function figure({ title, testid, legend, summary, empty }, svg) {
  return h(
    "figure",
    { class: "chart", "data-testid": testid, "aria-label": `${title}. ${summary || ""}`.trim() },
    h("figcaption", {}, title),
    legend && legend.length > 1 && !empty
      ? h(
          "ul",
          { class: "legend" },
          legend.map((l) =>
            h("li", {}, h("span", { class: `swatch${l.line ? " line" : ""}`, style: `--c:${l.color}` }), l.label),
          ),
        )
      : null,
    empty ? h("p", { class: "chart-empty" }, empty) : svg,
  );
}

function yAxis(g, { left, right, top, bottom, scale, fmt }) {
  for (let v = 0; v <= scale.max; v += scale.step) {
    const y = bottom - ((bottom - top) * v) / scale.max;
    g.append(
      s("line", { x1: left, x2: right, y1: y, y2: y, stroke: v === 0 ? AXIS : GRID, "stroke-width": 1 }),
      s("text", { x: left - 6, y: y + 4, "text-anchor": "end", fill: AXIS, "font-size": FONT }, fmt(v)),
    );
  }
}

/** Show every k-th of n labels so that labels of width `w` fit a band of `band` px. */
const labelEvery = (n, band, w) => Math.max(1, Math.ceil((w + 8) / band));

/**
 * Columns, one per label; with several series they stack, bottom first.
 * series: [{label, color, values: [n per label]}]. `highlight` marks the tallest.
 */
export function columnChart({ title, testid, labels, series, width = 640, height = 250, fmt = String,
  empty, summary, valueLabels = false, tipLabels = labels }) {
  const totals = labels.map((_, i) => series.reduce((sum, se) => sum + (se.values[i] || 0), 0));
  const peak = Math.max(0, ...totals);
  const scale = niceScale(peak);
  const left = 8 + textWidth(fmt(scale.max)) + 6;
  const [top, right, bottom] = [valueLabels ? 22 : 10, width - 6, height - 26];
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-hidden": "true" });
  const g = s("g", { "font-family": "inherit" });
  yAxis(g, { left, right, top, bottom, scale, fmt });
  const band = (right - left) / Math.max(1, labels.length);
  const barW = Math.max(2, Math.min(48, band * 0.72));
  const every = labelEvery(labels.length, band, Math.max(...labels.map((l) => textWidth(l))));
  labels.forEach((label, i) => {
    const x = left + band * i + (band - barW) / 2;
    let y = bottom;
    const parts = [];
    for (const se of series) {
      const v = se.values[i] || 0;
      const hgt = ((bottom - top) * v) / scale.max;
      if (v > 0) {
        y -= hgt;
        g.append(s("rect", { x, y, width: barW, height: Math.max(hgt, 1), fill: se.color, rx: 2 },
          tip(`${tipLabels[i]} · ${se.label}: ${fmt(v)}`)));
      }
      parts.push(`${se.label} ${fmt(v)}`);
    }
    if (valueLabels && totals[i] > 0 && (band >= 20 || totals[i] === peak)) {
      g.append(s("text", { x: x + barW / 2, y: y - 5, "text-anchor": "middle", "font-size": FONT - 1,
        fill: "#1f2933", "font-weight": totals[i] === peak ? 700 : 400 }, fmt(totals[i])));
    }
    if (i % every === 0) {
      g.append(s("text", { x: left + band * i + band / 2, y: bottom + 18, "text-anchor": "middle",
        "font-size": FONT, fill: AXIS }, label));
    }
  });
  svg.append(g);
  return figure({ title, testid, summary, empty: peak > 0 ? null : empty, legend: series }, svg);
}

/** Lines over labels (days); the first series with `area` is filled beneath. */
export function lineChart({ title, testid, labels, series, width = 640, height = 250, fmt = String,
  empty, summary, tipLabels = labels }) {
  const peak = Math.max(0, ...series.flatMap((se) => se.values));
  const scale = niceScale(peak);
  const left = 8 + textWidth(fmt(scale.max)) + 6;
  const [top, right, bottom] = [12, width - 24, height - 26];
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-hidden": "true" });
  const g = s("g", {});
  yAxis(g, { left, right, top, bottom, scale, fmt });
  const n = labels.length;
  const xOf = (i) => (n <= 1 ? (left + right) / 2 : left + ((right - left) * i) / (n - 1));
  const yOf = (v) => bottom - ((bottom - top) * (v || 0)) / scale.max;
  const every = labelEvery(n, (right - left) / Math.max(1, n - 1), Math.max(...labels.map((l) => textWidth(l))));
  labels.forEach((label, i) => {
    if (i % every === 0 || (n > 1 && i === n - 1 && (n - 1) % every >= every / 2)) {
      g.append(s("text", { x: xOf(i), y: bottom + 18, "text-anchor": "middle", "font-size": FONT,
        fill: AXIS }, label));
    }
  });
  for (const se of series) {
    const pts = se.values.map((v, i) => `${xOf(i).toFixed(1)},${yOf(v).toFixed(1)}`);
    if (se.area && n > 1) {
      g.append(s("polygon", { points: `${xOf(0)},${bottom} ${pts.join(" ")} ${xOf(n - 1)},${bottom}`,
        fill: se.color, "fill-opacity": 0.14 }));
    }
    if (n > 1) {
      g.append(s("polyline", { points: pts.join(" "), fill: "none", stroke: se.color, "stroke-width": 3,
        "stroke-linejoin": "round", "stroke-linecap": "round" }));
    }
    se.values.forEach((v, i) => {
      if (n <= 40 || v > 0) {
        g.append(s("circle", { cx: xOf(i), cy: yOf(v), r: n > 40 ? 2.5 : 4, fill: se.color },
          tip(`${tipLabels[i]} · ${se.label}: ${fmt(v || 0)}`)));
      }
    });
  }
  svg.append(g);
  const legend = series.map((se) => ({ ...se, line: true }));
  return figure({ title, testid, summary, empty: peak > 0 ? null : empty, legend }, svg);
}

/**
 * Horizontal bars, one row each: label, bar, and "value · share" after it.
 * rows: [{label, value, color, note}]; `total` gives the shares (omit for none).
 */
export function barList({ title, testid, rows, total = null, width = 640, fmt = String, empty, summary,
  color = "#1d5f86" }) {
  const peak = Math.max(0, ...rows.map((r) => r.value));
  const rowH = 34;
  const labelW = Math.min(width * 0.38, 10 + Math.max(0, ...rows.map((r) => textWidth(r.label, FONT + 1))));
  const valueText = (r) =>
    total ? `${fmt(r.value)} · ${((100 * r.value) / Math.max(1, total)).toFixed(0)}%` : fmt(r.value);
  const valueW = Math.max(40, ...rows.map((r) => textWidth(valueText(r)))) + 10;
  const barMax = width - labelW - valueW - 8;
  const height = rows.length * rowH + 6;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-hidden": "true" });
  rows.forEach((r, i) => {
    const y = 4 + i * rowH;
    const w = peak > 0 ? (barMax * r.value) / peak : 0;
    svg.append(
      s("text", { x: labelW - 10, y: y + rowH / 2 + 5, "text-anchor": "end", "font-size": FONT + 1,
        fill: "#1f2933" }, r.label),
      s("rect", { x: labelW, y: y + 6, width: barMax, height: rowH - 12, fill: "#f1f3f5", rx: 3 }),
      s("rect", { x: labelW, y: y + 6, width: Math.max(w, r.value > 0 ? 2 : 0), height: rowH - 12,
        fill: r.color || color, rx: 3 }, tip(`${r.label}: ${valueText(r)}`)),
      s("text", { x: labelW + Math.max(w, 0) + 8, y: y + rowH / 2 + 5, "font-size": FONT + 1,
        "font-weight": 700, fill: "#1f2933" }, valueText(r)),
    );
  });
  return figure({ title, testid, summary, empty: peak > 0 ? null : empty }, svg);
}
