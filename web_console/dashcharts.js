// The 统计 tab's charts (dashboard.js): calls per day by outcome, requests per day,
// calls by hour of day, how calls ended and calls per kiosk, each drawn by charts.js
// at the width it shows.

import { h } from "./dom.js";
import { barList, columnChart, lineChart } from "./charts.js";
import { axisDay, count, longDay } from "./dates.js";
import { t } from "./i18n.js";

const COLORS = {
  answered: "#2f7d32",
  abandoned: "#d08a00",
  unanswered: "#b3261e",
  other: "#8895a1",
  calls: "#1d5f86",
  collected: "#1d5f86",
  resolved: "#2f7d32",
};
const KIOSKS_SHOWN = 12;

/** Widths, in px, of a full-width and a half-width chart inside their cards in `body`. */
function chartWidths(body) {
  const full = body.clientWidth || 1300;
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 18;
  const pad = 2.4 * rem + 2; // the card's padding and border
  const wide = Math.round(full - pad);
  return { wide, half: full >= 1000 ? Math.round((full - 1.2 * rem) / 2 - pad) : wide };
}

/** The dashboard's charts for the figures `d` (/api/stats), drawn at the width of `body`;
 * kiosks are named through `directory`. */
export function dashboardCharts(d, body, directory) {
  const { wide, half } = chartWidths(body);
  const series = d.series || [];
  const days = series.map((p) => axisDay(p.date));
  const longDays = series.map((p) => longDay(p.date));
  const col = (key) => series.map((p) => p[key] || 0);
  const empty = t("dash.no_calls");
  const hours = Array.isArray(d.calls_by_hour) ? d.calls_by_hour : [];
  const perKiosk = Object.entries(d.calls_per_kiosk || {}).sort((a, b) => b[1] - a[1]);
  const shownKiosks = perKiosk.slice(0, KIOSKS_SHOWN);
  const rest = perKiosk.slice(KIOSKS_SHOWN).reduce((sum, [, n]) => sum + n, 0);
  const other = Math.max(0, (d.calls || 0) - (d.answered || 0) - (d.abandoned || 0) - (d.unanswered || 0));
  const outcomes = [
    { label: t("dash.answered"), value: d.answered || 0, color: COLORS.answered },
    { label: t("dash.abandoned"), value: d.abandoned || 0, color: COLORS.abandoned },
    { label: t("dash.unanswered"), value: d.unanswered || 0, color: COLORS.unanswered },
  ];
  if (other > 0) outcomes.push({ label: t("dash.other"), value: other, color: COLORS.other });
  return h(
    "section",
    { class: "chart-grid" },
    h("div", { class: "card chart-card wide" },
      columnChart({
        title: t("dash.chart.daily_calls"), testid: "chart-daily-calls", labels: days, tipLabels: longDays,
        empty, width: wide, height: 260, valueLabels: days.length <= 31,
        summary: t("dash.sentence_calls", { calls: count(d.calls), answered: count(d.answered) }),
        series: [
          { label: t("dash.answered"), color: COLORS.answered, values: col("answered") },
          { label: t("dash.abandoned"), color: COLORS.abandoned, values: col("abandoned") },
          { label: t("dash.unanswered"), color: COLORS.unanswered, values: col("unanswered") },
        ],
      })),
    h("div", { class: "card chart-card" },
      lineChart({
        title: t("dash.chart.daily_requests"), testid: "chart-daily-requests", labels: days, tipLabels: longDays,
        empty: t("dash.no_requests"), width: half,
        summary: t("dash.sentence", { collected: count(d.requests_collected), resolved: count(d.requests_resolved) }),
        series: [
          { label: t("dash.requests_collected"), color: COLORS.collected, values: col("requests_collected"), area: true },
          { label: t("dash.requests_resolved"), color: COLORS.resolved, values: col("requests_resolved") },
        ],
      })),
    h("div", { class: "card chart-card" },
      columnChart({
        title: t("dash.chart.by_hour"), testid: "chart-by-hour", empty, valueLabels: true, width: half,
        labels: hours.map((_, i) => t("dash.hour", { h: i })),
        tipLabels: hours.map((_, i) => `${i}:00–${i + 1}:00`),
        series: [{ label: t("dash.calls"), color: COLORS.calls, values: hours }],
      })),
    h("div", { class: "card chart-card" },
      barList({
        title: t("dash.chart.outcomes"), testid: "chart-outcomes", rows: outcomes, total: d.calls || 0, empty,
        width: half,
        fmt: count,
      })),
    h("div", { class: "card chart-card" },
      barList({
        title: t("dash.chart.per_kiosk"), testid: "chart-per-kiosk", empty, fmt: count, width: half,
        rows: [
          ...shownKiosks.map(([id, n]) => ({ label: directory.kioskName(id), value: n })),
          ...(rest > 0 ? [{ label: t("dash.other_kiosks", { n: perKiosk.length - KIOSKS_SHOWN }), value: rest, color: COLORS.other }] : []),
        ],
      })),
  );
}
