// 设备 (the fleet), a tab for supervisors and admins: every kiosk of the town with its
// health as the hub keeps it (GET /api/kiosks?town=): online or offline, last seen, its
// last call, the last self-test per device, a stuck or failing button, the version, and
// the hub's alerts (silent past the town's offline_alert_s, a failed self-test), whose
// rows come first and stand out. The hub pushes nothing about kiosks, so the panel asks
// again every 15 s while its tab shows and the page is visible, and at once when either
// comes back. An admin picks the town.

import { api, query } from "./api.js";
import { $, h } from "./dom.js";
import { dateTime, parseTime, serverNow, timeOfDay } from "./format.js";
import { t, tr } from "./i18n.js";
import { canWatch } from "./team.js";

export const POLL_MS = 15000;

/** "just now", "5 minutes ago"…, from an ISO time on the hub's clock. */
function ago(iso) {
  const s = Math.max(0, (serverNow() - (parseTime(iso) ?? serverNow())) / 1000);
  if (s < 10) return t("fleet.ago.now");
  if (s < 60) return t("fleet.ago.s", { n: Math.floor(s) });
  if (s < 3600) return t("fleet.ago.min", { n: Math.floor(s / 60) });
  if (s < 86400) return t("fleet.ago.h", { n: Math.floor(s / 3600) });
  return t("fleet.ago.d", { n: Math.floor(s / 86400) });
}

/** A span that tick() keeps saying how long ago `iso` was; the exact time on hover. */
const agoSpan = (iso) => h("span", { class: "fleet-ago nowrap", "data-at": iso, title: dateTime(iso) }, ago(iso));

/** A span of seconds in words: "10 分钟", "90 秒". */
function span(seconds) {
  const s = Number(seconds);
  if (s >= 3600 && s % 3600 === 0) return t("fleet.dur.h", { n: s / 3600 });
  if (s >= 60 && s % 60 === 0) return t("fleet.dur.min", { n: s / 60 });
  return t("fleet.dur.s", { n: s });
}

const none = () => h("span", { class: "muted" }, t("detail.none"));

// What needs a supervisor's eye first: alerts, then the offline, then by id.
const rank = (k) => (k.alerts.length ? 0 : k.online ? 2 : 1);
const byUrgency = (a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id);

export class FleetPanel {
  /**
   * @param view     the tab's <section>
   * @param tab      the tab's button, hidden from operators
   * @param openCall function(callId) shows a call's detail
   */
  constructor({ view, tab, openCall }) {
    this.view = view;
    this.tab = tab;
    this.body = $("fleet-body");
    this.summary = $("fleet-summary");
    this.note = $("fleet-note");
    this.townSelect = $("fleet-town");
    this.operator = null;
    this.town = "";
    this.towns = []; // an admin's pick: [{id, name}]
    this.items = [];
    this.alertAfter = null; // the town's offline_alert_s, once known
    this.error = null;
    this.loadedAt = null;
    this.visible = false;
    this.timer = null;
    this.seq = 0; // a load answered after a newer one started is dropped
    $("fleet-refresh").addEventListener("click", () => this.load());
    this.townSelect.addEventListener("change", () => this.pick(this.townSelect.value));
    this.body.addEventListener("click", (ev) => {
      const btn = ev.target.closest("button[data-call-id]");
      if (btn) openCall(btn.dataset.callId);
    });
    document.addEventListener("visibilitychange", () => {
      if (!this.visible) return;
      if (document.visibilityState === "visible") this.load();
      else this.stop();
    });
  }

  get watching() {
    return Boolean(this.operator && canWatch(this.operator.role));
  }

  get admin() {
    return Boolean(this.operator && this.operator.role === "admin");
  }

  setOperator(info) {
    this.stop();
    this.operator = info;
    this.town = info ? info.town_id : "";
    this.towns = [];
    this.forget();
    this.tab.hidden = !this.watching;
    this.visible = false;
    this.render();
  }

  forget() {
    this.seq++;
    this.items = [];
    this.alertAfter = null;
    this.error = null;
    this.loadedAt = null;
  }

  /** The tab came forward (true) or went (false). */
  setVisible(visible) {
    this.visible = visible && this.watching;
    if (this.visible) this.load();
    else this.stop();
  }

  /** An admin picks a town. */
  pick(town) {
    this.town = town;
    this.forget();
    this.render();
    this.load();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  schedule() {
    this.stop();
    if (this.visible && document.visibilityState === "visible") {
      this.timer = setTimeout(() => this.load(), POLL_MS);
    }
  }

  async load() {
    if (!this.watching) return;
    this.stop();
    const seq = ++this.seq;
    const town = this.town;
    this.view.dataset.loading = "true";
    const [kiosks, settings, towns] = await Promise.allSettled([
      api("GET", `/api/kiosks${query({ town })}`),
      api("GET", `/api/towns/${encodeURIComponent(town)}/settings`),
      this.admin && !this.towns.length ? api("GET", "/api/towns") : null,
    ]);
    if (seq !== this.seq) return;
    if (kiosks.status === "fulfilled") {
      this.items = [...kiosks.value.items].sort(byUrgency);
      this.error = null;
      this.loadedAt = new Date().toISOString();
    } else {
      this.error = kiosks.reason; // the last list stays, said to be old
    }
    if (settings.status === "fulfilled") this.alertAfter = settings.value.settings.offline_alert_s;
    if (towns.status === "fulfilled" && towns.value) this.towns = towns.value.items;
    this.view.dataset.loading = "false";
    this.render();
    this.schedule();
  }

  lastCall(call) {
    if (!call) return none();
    const when = call.ended_at || call.created_at;
    return h(
      "button",
      { type: "button", class: "linked-call", "data-testid": "fleet-call", "data-call-id": call.id, title: t("team.open_call") },
      h("span", { class: `chip status-${call.status}` }, tr("status", call.status)),
      when ? h("span", { class: "nowrap" }, dateTime(when)) : null,
    );
  }

  selfTest(test) {
    if (!test) return none();
    return h(
      "div",
      { "data-testid": "fleet-self-test", "data-passed": String(test.passed) },
      h("span", { class: `chip ${test.passed ? "presence-available" : "status-failed"}` }, t(test.passed ? "fleet.test.passed" : "fleet.test.failed")),
      test.at ? [" ", h("span", { class: "muted small" }, agoSpan(test.at))] : null,
      h(
        "ul",
        { class: "fleet-devices" },
        test.devices.map((d) =>
          h(
            "li",
            { class: `device-${d.result}`, "data-device": d.device, "data-result": d.result, title: d.detail || null },
            t("fleet.device_result", { device: tr("fleet.device", d.device), result: tr("fleet.result", d.result) }),
            d.result === "failed" && d.detail ? h("div", { class: "fleet-detail" }, d.detail) : null,
          ),
        ),
      ),
    );
  }

  button(k) {
    if (k.button_stuck) return h("span", { class: "chip status-failed", "data-testid": "fleet-button-stuck" }, t("fleet.button.stuck"));
    if (k.button_fault) return h("span", { class: "chip status-failed", title: k.button_fault }, t("fleet.button.fault", { fault: k.button_fault }));
    return k.version || k.self_test ? t("fleet.button.ok") : none(); // known from a heartbeat
  }

  alert(a) {
    const text = a.kind === "offline" && this.alertAfter
      ? t("fleet.alert.offline_past", { span: span(this.alertAfter) })
      : tr("fleet.alert", a.kind);
    const title = [a.since ? dateTime(a.since) : "", a.detail].filter(Boolean).join(" · ");
    return h("span", { class: "chip status-failed fleet-alert", "data-testid": "fleet-alert", "data-kind": a.kind, title: title || null }, text);
  }

  row(k) {
    const kinds = k.alerts.map((a) => a.kind);
    const classes = ["fleet-row", kinds.length ? "alert" : "", k.online ? "" : "offline"];
    return h(
      "tr",
      {
        "data-testid": "fleet-row", "data-kiosk-id": k.id, "data-online": String(k.online),
        "data-alerts": kinds.join(" "), class: classes.filter(Boolean).join(" "),
      },
      h("td", {}, h("strong", {}, k.name || k.id), h("div", { class: "muted small nowrap" }, k.id)),
      h("td", {}, k.village || none()),
      h(
        "td",
        { class: "nowrap" },
        h("span", { class: `chip ${k.online ? "presence-available" : "presence-offline"}`, "data-testid": "fleet-online" }, t(k.online ? "fleet.online" : "fleet.offline")),
        k.revoked ? h("div", { class: "muted small" }, t("staff.kiosk.revoked")) : null,
      ),
      h("td", { class: "nowrap", "data-testid": "fleet-seen" }, k.last_seen ? agoSpan(k.last_seen) : h("span", { class: "muted" }, t("fleet.never"))),
      h("td", {}, this.lastCall(k.last_call)),
      h("td", {}, this.selfTest(k.self_test)),
      h("td", {}, this.button(k)),
      h("td", { class: "nowrap" }, k.version || none()),
      h("td", {}, k.alerts.length ? h("div", { class: "fleet-alerts" }, k.alerts.map((a) => this.alert(a))) : none()),
    );
  }

  renderSummary() {
    const online = this.items.filter((k) => k.online).length;
    const alerts = this.items.filter((k) => k.alerts.length).length;
    const parts = [
      h("strong", { class: "team-online" }, t("fleet.count", { n: this.items.length })),
      h("span", { class: "chip presence-available" }, t("fleet.count_online", { n: online })),
      h("span", { class: "chip presence-offline" }, t("fleet.count_offline", { n: this.items.length - online })),
      alerts ? h("span", { class: "chip status-failed", "data-testid": "fleet-alert-count" }, t("fleet.count_alerts", { n: alerts })) : null,
      this.alertAfter ? h("span", { class: "muted small" }, t("fleet.threshold", { span: span(this.alertAfter) })) : null,
      this.loadedAt
        ? h("span", { class: "muted small team-updated" }, t("fleet.updated", { time: timeOfDay(this.loadedAt), s: POLL_MS / 1000 }))
        : null,
    ];
    this.summary.replaceChildren(...parts.filter(Boolean)); // replaceChildren writes a null as "null"
  }

  renderTowns() {
    this.townSelect.hidden = !this.admin;
    if (!this.admin) return;
    const known = this.towns.some((tn) => tn.id === this.town) ? this.towns : [{ id: this.town, name: "" }, ...this.towns];
    this.townSelect.replaceChildren(...known.map((tn) => h("option", { value: tn.id }, tn.name ? `${tn.name} (${tn.id})` : tn.id)));
    this.townSelect.value = this.town;
  }

  render() {
    this.renderTowns();
    this.body.replaceChildren(...this.items.map((k) => this.row(k)));
    this.renderSummary();
    let text = "";
    if (this.error) text = t("fleet.failed", { message: this.error.message });
    else if (this.loadedAt && !this.items.length) text = t("fleet.empty");
    this.note.textContent = text;
    this.note.hidden = !text;
    this.note.classList.toggle("error", Boolean(this.error));
    this.view.dataset.town = this.town;
  }

  /** Once a second while it shows: "how long ago", in place. */
  tick() {
    if (!this.visible) return;
    for (const el of this.body.querySelectorAll("[data-at]")) el.textContent = ago(el.dataset.at);
  }
}
