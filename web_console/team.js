// 值班情况 (who is on duty), on the desk of supervisors and admins: every operator of
// the town with their state, missed rings and current call. The hub pushes the town's
// team (`team`) whenever one of them changes, and once as the socket opens; the panel
// draws from that. It asks GET /api/presence itself only as a fallback: when the desk
// comes forward after a long silence, or when 30 s pass without a word from the hub.

import * as api from "./api.js";
import { $, h } from "./dom.js";
import { clock, parseTime, serverNow, timeOfDay } from "./format.js";
import { t } from "./i18n.js";

const FALLBACK_MS = 30000;
// The summary's order: what needs a supervisor's eye first.
const ORDER = ["ringing", "busy", "wrap_up", "available", "away", "offline"];

export const canWatch = (role) => role === "supervisor" || role === "admin";

const wrapLeft = (iso) => clock(Math.ceil(Math.max(0, (parseTime(iso) ?? 0) - serverNow()) / 1000));

function stateChip(op) {
  const text = op.state === "wrap_up" && op.wrap_until
    ? t("presence.wrap_left", { time: wrapLeft(op.wrap_until) })
    : t(`presence.${op.state}`);
  return h(
    "span",
    { class: `chip presence-${op.state}`, "data-state": op.state, "data-wrap-until": op.wrap_until || null },
    text,
  );
}

export class TeamPanel {
  /**
   * @param openCall function(callId) shows a call's detail
   * @param directory what the console has seen (filters.js): its towns, for an admin's pick
   * @param send     function(msg) → ref, or null when the hub's socket is down
   */
  constructor({ view, openCall, directory, send }) {
    this.view = view;
    this.body = $("team-body");
    this.summary = $("team-summary");
    this.note = $("team-note");
    this.townSelect = $("team-town");
    this.towns = () => [...directory.towns];
    directory.onChange(() => this.renderTowns()); // a town first seen in the log
    this.send = send;
    this.operator = null;
    this.town = "";
    this.items = [];
    this.calls = new Map(); // call id -> {kiosk_name, village, kiosk_id}, or null when unknown
    this.visible = false;
    this.timer = null;
    this.seq = 0; // each word (pushed or asked for) is newer than the one before
    this.error = null;
    this.loadedAt = null;
    this.heardAt = 0; // Date.now() of the last word about this town
    $("team-refresh").addEventListener("click", () => this.load());
    this.body.addEventListener("click", (ev) => {
      const btn = ev.target.closest("button[data-call-id]");
      if (btn) openCall(btn.dataset.callId);
    });
    this.townSelect.addEventListener("change", () => this.pick(this.townSelect.value));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.visible) this.catchUp();
    });
  }

  setOperator(info) {
    this.operator = info;
    this.town = info ? info.town_id : "";
    this.items = [];
    this.calls.clear();
    this.heardAt = 0;
    this.setVisible(false);
    this.view.hidden = !this.watching;
  }

  get watching() {
    return Boolean(this.operator && canWatch(this.operator.role));
  }

  /** The desk came forward (true) or went (false). */
  setVisible(visible) {
    this.visible = visible && this.watching;
    if (this.visible) this.catchUp();
    else clearTimeout(this.timer);
  }

  /** An admin picks a town: the hub pushes that town's team from now on. */
  pick(town) {
    this.town = town;
    this.items = [];
    this.heardAt = 0;
    this.loadedAt = null; // nothing to say about this town until it is heard of
    this.render();
    if (!this.send({ type: "watch_team", town_id: town })) this.load();
  }

  /** The hub's welcome: it watches the operator's own town; another pick is asked again. */
  connected() {
    if (this.watching && this.town !== this.operator.town_id) {
      this.send({ type: "watch_team", town_id: this.town });
    }
  }

  /** The hub's `team`. */
  pushed(msg) {
    if (!this.watching || msg.town_id !== this.town) return; // an earlier pick's
    this.show(msg, ++this.seq);
  }

  /** Ask now unless the hub spoke lately. */
  catchUp() {
    if (Date.now() - this.heardAt >= FALLBACK_MS) this.load();
    else this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.visible && this.operator && document.visibilityState === "visible") {
      this.timer = setTimeout(() => this.load(), Math.max(0, this.heardAt + FALLBACK_MS - Date.now()));
    }
  }

  async load() {
    if (!this.operator) return;
    clearTimeout(this.timer);
    const seq = ++this.seq;
    try {
      await this.show(await api.presence(this.town), seq);
    } catch (err) {
      if (seq !== this.seq) return;
      this.error = err;
      this.render();
      this.schedule();
    }
  }

  /** Draw the town's team, unless a newer word came while the calls were looked up. */
  async show(data, seq) {
    this.heardAt = Date.now();
    this.items = [...(data.operators || [])].sort((a, b) => a.username.localeCompare(b.username));
    await this.learnCalls();
    if (seq !== this.seq) return;
    this.error = null;
    this.loadedAt = new Date().toISOString();
    this.render();
    this.schedule();
  }

  /** Which kiosk each current call is from (each call asked once). */
  async learnCalls() {
    const wanted = new Set(this.items.flatMap((op) => [op.call_id, op.ringing]).filter(Boolean));
    for (const id of this.calls.keys()) if (!wanted.has(id)) this.calls.delete(id);
    const missing = [...wanted].filter((id) => !this.calls.has(id));
    const got = await Promise.allSettled(missing.map((id) => api.getCall(id)));
    got.forEach((r, i) => this.calls.set(missing[i], r.status === "fulfilled" ? r.value : null));
  }

  callButton(id, template) {
    const c = this.calls.get(id);
    const name = c ? [c.kiosk_name || c.kiosk_id, c.village].filter(Boolean).join(" · ") : id;
    return h(
      "button",
      { type: "button", class: "linked-call", "data-testid": "team-call", "data-call-id": id, title: t("team.open_call") },
      template ? t(template, { call: name }) : name,
    );
  }

  row(op) {
    const me = this.operator && op.username === this.operator.username;
    const missed = Number(op.missed_rings) || 0;
    let call = t("detail.none");
    if (op.call_id) call = this.callButton(op.call_id, null);
    else if (op.ringing) call = this.callButton(op.ringing, "team.ringing_call");
    return h(
      "tr",
      { "data-testid": "team-row", "data-username": op.username, "data-state": op.state, class: `team-row state-${op.state}` },
      h("td", { class: "nowrap" }, h("strong", {}, op.username), me ? h("span", { class: "muted" }, ` ${t("team.you")}`) : null),
      h("td", {}, stateChip(op)),
      h("td", { class: "nowrap" }, t(`avail.${op.availability}`)),
      h("td", { class: "num", "data-testid": "team-missed" }, missed ? h("span", { class: "missed" }, String(missed)) : t("detail.none")),
      h("td", {}, call),
    );
  }

  renderSummary() {
    const online = this.items.filter((op) => op.state !== "offline").length;
    const counts = ORDER.filter((s) => s !== "offline")
      .map((s) => [s, this.items.filter((op) => op.state === s).length])
      .filter(([, n]) => n > 0);
    this.summary.replaceChildren(
      h("strong", { class: "team-online" }, t("team.online", { n: online })),
      ...counts.map(([s, n]) =>
        h("span", { class: `chip presence-${s}`, "data-state": s }, t("team.count", { state: t(`presence.${s}`), n })),
      ),
      this.loadedAt
        ? h("span", { class: "muted small team-updated" }, t("team.updated", { time: timeOfDay(this.loadedAt) }))
        : null,
    );
  }

  renderTowns() {
    const admin = Boolean(this.operator && this.operator.role === "admin");
    this.townSelect.hidden = !admin;
    if (!admin) return;
    const towns = [...new Set([this.operator.town_id, this.town, ...this.towns()])].filter(Boolean).sort();
    this.townSelect.replaceChildren(...towns.map((id) => h("option", { value: id }, id)));
    this.townSelect.value = this.town;
  }

  render() {
    this.renderTowns();
    this.body.replaceChildren(...this.items.map((op) => this.row(op)));
    this.renderSummary();
    let text = "";
    if (this.error) text = t("team.failed", { message: this.error.message });
    else if (this.loadedAt && !this.items.length) text = t("team.empty");
    this.note.textContent = text;
    this.note.hidden = !text;
    this.note.classList.toggle("error", Boolean(this.error));
    this.view.dataset.town = this.town;
  }

  /** Once a second: the wrap-up countdowns, in place. */
  tick() {
    if (!this.visible) return;
    for (const chip of this.body.querySelectorAll("[data-wrap-until]")) {
      chip.textContent = t("presence.wrap_left", { time: wrapLeft(chip.dataset.wrapUntil) });
    }
  }
}
