// The 统计 (numbers) tab: for a range of days, what the town reports upward. At the
// top, how many of the villagers' problems were collected and how many solved; then
// the calls (answered, waits, service level); then charts of the daily trend, the
// hours of the day, the kiosks and the outcomes (dashcharts.js). Every figure is
// /api/stats as is.

import { stats as fetchStats, listCalls } from "./api.js";
import { $, find, h } from "./dom.js";
import { dashboardCharts } from "./dashcharts.js";
import { count, longDay, percent, presetRange, rangeParams, seconds } from "./dates.js";
import { has, t } from "./i18n.js";

const NAME_LOOKUPS = 30;

// The headline figures: [testid suffix, field, format, tone].
const REQUEST_FIGURES = [
  ["requests-collected", "requests_collected", count, "primary"],
  ["requests-resolved", "requests_resolved", count, "good"],
  ["requests-open", "requests_open", count, ""],
  ["requests-overdue", "requests_overdue", count, "bad-if-any"],
];
const CALL_FIGURES = [
  ["calls", "calls", count, ""],
  ["answered", "answered", count, ""],
  ["answer-rate", "answer_rate", percent, ""],
  ["service-level", "service_level", percent, ""],
  ["avg-wait", "avg_wait_s", seconds, ""],
  ["p90-wait", "p90_wait_s", seconds, ""],
  ["abandoned", "abandoned", count, ""],
  ["unanswered", "unanswered", count, "bad-if-any"],
  ["avg-talk", "avg_talk_s", seconds, ""],
  ["avg-handle", "avg_handle_s", seconds, ""],
  ["satisfaction-rate", "satisfaction_rate", percent, ""],
];

/** "3 分 50 秒" with the numbers big and the units small; the text stays the same. */
function withUnits(text) {
  if (!/\d/.test(text)) return text;
  return text.split(/([\d.,]+)/).map((part, i) => (i % 2 || !part.trim() ? part : h("span", { class: "unit" }, part)));
}

export class Dashboard {
  /** @param onDrill function({tab, status?, overdue?, from, to}) opens a list with this range */
  constructor({ view, directory, onDrill }) {
    this.view = view;
    this.body = find(view, ".dash-body");
    this.caption = $("dash-range");
    this.note = $("dash-note");
    this.townSelect = $("dash-town");
    this.custom = find(view, ".range-custom");
    this.sinceInput = $("range-since");
    this.untilInput = $("range-until");
    this.directory = directory;
    this.onDrill = onDrill;
    this.operator = null;
    this.preset = "today";
    this.range = presetRange("today");
    this.town = "";
    this.data = null;
    this.params = null;
    this.error = null;
    this.loading = false;
    this.seq = 0;
    for (const btn of view.querySelectorAll("[data-range]")) {
      btn.addEventListener("click", () => this.choose(btn.dataset.range));
    }
    $("range-apply").addEventListener("click", () => this.applyCustom());
    $("dash-refresh").addEventListener("click", () => this.load());
    this.townSelect.addEventListener("change", () => {
      this.town = this.townSelect.value;
      this.load();
    });
    // Charts are drawn at the size they show, so their text stays at reading size.
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => !this.view.hidden && this.data && this.render(), 200);
    });
    this.body.addEventListener("click", (ev) => {
      const card = ev.target.closest("[data-drill]");
      if (card) this.onDrill({ ...JSON.parse(card.dataset.drill), ...this.range });
    });
  }

  setOperator(op) {
    this.operator = op;
    this.town = "";
    this.data = null;
  }

  choose(preset) {
    this.preset = preset;
    if (preset === "custom") {
      this.sinceInput.value ||= this.range.from;
      this.untilInput.value ||= this.range.to;
      this.renderToolbar();
      this.sinceInput.focus();
      return;
    }
    this.range = presetRange(preset);
    this.load();
  }

  applyCustom() {
    let [from, to] = [this.sinceInput.value, this.untilInput.value];
    if (!from || !to) return;
    if (from > to) [from, to] = [to, from];
    this.range = { from, to };
    this.load();
  }

  async load() {
    const seq = ++this.seq;
    const params = { ...rangeParams(this.range.from, this.range.to) };
    if (this.operator && this.operator.role === "admin" && this.town) params.town = this.town;
    this.loading = true;
    this.renderToolbar();
    try {
      const data = await fetchStats(params);
      if (seq !== this.seq) return;
      this.data = data;
      this.params = params;
      this.error = null;
      this.directory.learn(Object.keys(data.calls_per_kiosk || {}).map((id) => ({ kiosk_id: id })));
      this.lookUpKioskNames(data);
    } catch (err) {
      if (seq !== this.seq) return;
      this.error = err;
    } finally {
      if (seq === this.seq) this.loading = false;
    }
    this.render();
  }

  /** Kiosks the console has not seen yet show by id; one call of each gives its name. */
  async lookUpKioskNames(data) {
    const dir = this.directory;
    const unknown = Object.keys(data.calls_per_kiosk || {})
      .filter((id) => dir.kioskName(id) === id)
      .slice(0, NAME_LOOKUPS);
    if (!unknown.length) return;
    const pages = await Promise.allSettled(unknown.map((kiosk) => listCalls({ kiosk, limit: 1 })));
    dir.learn(pages.flatMap((p) => (p.status === "fulfilled" ? p.value.items || [] : [])));
    if (this.data === data) this.render();
  }

  renderToolbar() {
    for (const btn of this.view.querySelectorAll("[data-range]")) {
      btn.setAttribute("aria-pressed", String(btn.dataset.range === this.preset));
    }
    this.custom.hidden = this.preset !== "custom";
    const admin = this.operator && this.operator.role === "admin";
    this.townSelect.hidden = !admin;
    if (admin) {
      const towns = [...new Set([this.operator.town_id, ...this.directory.towns])].sort();
      this.townSelect.replaceChildren(
        h("option", { value: "" }, t("filter.all_towns")),
        ...towns.map((id) => h("option", { value: id }, id)),
      );
      this.townSelect.value = this.town;
    }
    const { from, to } = this.range;
    const days = from === to ? longDay(from) : t("dash.range", { from: longDay(from), to: longDay(to) });
    const where = admin && !this.town ? t("filter.all_towns") : this.town || (this.operator && this.operator.town_name) || "";
    this.caption.textContent = where ? `${days} · ${where}` : days;
    this.view.dataset.since = this.params ? this.params.since : "";
    this.view.dataset.until = this.params ? this.params.until : "";
    this.view.dataset.town = this.params && this.params.town ? this.params.town : "";
    this.view.dataset.loading = String(this.loading);
    let note = "";
    if (this.loading && !this.data) note = t("log.loading");
    else if (this.error) note = t("dash.failed", { message: this.error.message });
    this.note.textContent = note;
    this.note.hidden = !note;
    this.note.classList.toggle("error", Boolean(this.error));
  }

  render() {
    this.renderToolbar();
    const d = this.data;
    if (!d) {
      this.body.replaceChildren();
      return;
    }
    this.body.replaceChildren(this.hero(d), this.callCards(d), dashboardCharts(d, this.body, this.directory));
  }

  figure([id, field, fmt, tone], d, drill) {
    const v = d[field];
    const bad = tone === "bad-if-any" && typeof v === "number" && v > 0;
    // Towns with different thresholds together have none in common to name.
    const mixed = field === "service_level" && typeof d.service_level_threshold_s !== "number";
    const subKey = mixed ? "dash.sub.service_level_mixed" : `dash.sub.${field}`;
    const sub = has(subKey) ? t(subKey, { s: d.service_level_threshold_s }) : "";
    return h(
      drill ? "button" : "div",
      {
        type: drill ? "button" : null,
        class: `figure tone-${bad ? "bad" : tone || "plain"}${drill ? " drill" : ""}`,
        "data-drill": drill ? JSON.stringify(drill) : null,
        title: drill ? t("dash.drill") : null,
      },
      h("span", { class: "figure-label" }, t(`dash.${field}`)),
      h("span", { class: "figure-value", "data-testid": `stats-${id}`, "data-value": v ?? "" }, withUnits(fmt(v))),
      sub ? h("span", { class: "figure-sub" }, sub) : null,
    );
  }

  hero(d) {
    const collected = d.requests_collected || 0;
    const resolved = d.requests_resolved || 0;
    const drills = {
      requests_collected: { tab: "requests" },
      requests_overdue: { tab: "requests", overdue: true },
    };
    return h(
      "section",
      { class: "hero card", "data-testid": "stats-requests" },
      h("p", { class: "hero-line", "data-testid": "stats-sentence" },
        t("dash.sentence", { collected: count(collected), resolved: count(resolved) })),
      h("div", { class: "hero-figures" }, REQUEST_FIGURES.map((f) => this.figure(f, d, drills[f[1]]))),
      collected > 0
        ? h(
            "div",
            { class: "progress", role: "img", "aria-label": t("dash.resolved_share", { p: percent(resolved / collected) }) },
            h("span", { class: "progress-bar", style: `width:${Math.min(100, (100 * resolved) / collected)}%` }),
            h("span", { class: "progress-text" }, t("dash.resolved_share", { p: percent(resolved / collected) })),
          )
        : null,
    );
  }

  callCards(d) {
    const drills = {
      calls: { tab: "log" },
      abandoned: { tab: "log", status: "abandoned" },
      unanswered: { tab: "log", status: "unanswered" },
    };
    return h(
      "section",
      { class: "call-figures", "data-testid": "stats-calls-section" },
      CALL_FIGURES.map((f) => this.figure(f, d, drills[f[1]])),
    );
  }
}
