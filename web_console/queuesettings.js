// The town's queue settings: a dialog that reads GET /api/towns/{town}/settings and,
// for supervisors and admins, saves what changed with one PUT; operators read the same
// dialog with every field disabled and nothing to save. Each setting is
// labelled and explained in words (docs/queue.md's table). The hub is the authority;
// the checks here only catch a typo before anything is written, because the hub
// writes the settings one by one.

import * as api from "./api.js";
import { h } from "./dom.js";
import { has, t } from "./i18n.js";

const HOURS = /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/;
const TOWN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const PREFIX = /^[A-Za-z0-9_-]{0,16}$/;

// `above`: the value must be over `min` (the hub's gt), else at least `min`.
const FIELDS = [
  { name: "strategy", group: "ringing", kind: "choice", choices: ["ringall", "longest_idle"] },
  { name: "ring_timeout_s", group: "ringing", kind: "number", unit: "s", min: 0, max: 600, above: true },
  { name: "max_missed_rings", group: "ringing", kind: "integer", unit: "times", min: 1, max: 100 },
  { name: "max_wait_s", group: "waiting", kind: "number", unit: "s", min: 0, max: 3600, above: true },
  { name: "overflow_to", group: "waiting", kind: "town" },
  { name: "overflow_after_s", group: "waiting", kind: "number", unit: "s", min: 0, max: 3600, above: true },
  { name: "hours", group: "hours", kind: "hours" },
  { name: "utc_offset_h", group: "hours", kind: "number", unit: "h", min: -12, max: 14 },
  { name: "wrap_up_s", group: "calls", kind: "number", unit: "s", min: 0, max: 3600 },
  { name: "grace_s", group: "calls", kind: "number", unit: "s", min: 0, max: 600 },
  { name: "media_grace_s", group: "calls", kind: "number", unit: "s", min: 0, max: 600, above: true },
  { name: "auto_answer_s", group: "calls", kind: "number", unit: "s", min: 0, max: 120 },
  { name: "service_level_s", group: "records", kind: "number", unit: "s", min: 0, max: 600, above: true },
  { name: "request_prefix", group: "records", kind: "prefix" },
];
const GROUPS = ["ringing", "waiting", "hours", "calls", "records", "other"];
const NUMERIC = new Set(["number", "integer"]);

const label = (f) => (has(`qs.${f.name}`) ? t(`qs.${f.name}`) : f.name);

/** What is wrong with `raw` for field `f`, in words, or "" when nothing is. */
function problem(f, raw, town) {
  if (NUMERIC.has(f.kind)) {
    const n = Number(raw);
    if (raw === "" || !Number.isFinite(n)) return t("qs.rule.number");
    const range = { min: f.min, max: f.max };
    if (f.kind === "integer" && (!Number.isInteger(n) || n < f.min || n > f.max)) return t("qs.rule.integer", range);
    if (f.above ? n <= f.min || n > f.max : n < f.min || n > f.max) return t(f.above ? "qs.rule.above" : "qs.rule.range", range);
  }
  if (f.kind === "hours" && raw && !HOURS.test(raw)) return t("qs.rule.hours");
  if (f.kind === "town" && raw && (!TOWN_ID.test(raw) || raw === town)) return t("qs.rule.town");
  if (f.kind === "prefix" && !PREFIX.test(raw)) return t("qs.rule.prefix");
  return "";
}

export class QueueSettings {
  /** @param onSaved function(settings) after a save */
  constructor({ dialog, toast, onSaved }) {
    this.dialog = dialog;
    this.body = dialog.querySelector(".detail-body");
    this.title = dialog.querySelector("h2");
    this.readOnly = false;
    this.toast = toast;
    this.onSaved = onSaved;
    this.town = "";
    this.fields = FIELDS;
    this.original = null; // the hub's settings
    this.inputs = new Map(); // name -> input or select
    this.errors = new Map(); // name -> text
    this.formError = "";
    this.busy = false;
    this.loadError = null;
  }

  /** @param readOnly show the settings without letting them change (operators) */
  async open(town, { readOnly = false } = {}) {
    this.town = town;
    this.readOnly = readOnly;
    this.dialog.dataset.readonly = String(readOnly);
    this.title.dataset.i18n = readOnly ? "qs.title_read" : "qs.title";
    this.original = null;
    this.loadError = null;
    this.errors.clear();
    this.formError = "";
    this.render();
    if (!this.dialog.open) this.dialog.showModal();
    try {
      this.setData(await api.getQueueSettings(town));
      this.fill();
    } catch (err) {
      this.loadError = err;
    }
    this.render();
  }

  setData(data) {
    this.original = data.settings || {};
    const known = new Set(FIELDS.map((f) => f.name));
    const extra = (data.names || []).filter((n) => !known.has(n));
    this.fields = [...FIELDS, ...extra.map((name) => ({ name, group: "other", kind: "text" }))];
    this.build();
  }

  build() {
    this.inputs.clear();
    for (const f of this.fields) {
      const attrs = { "data-testid": `setting-${f.name}`, name: f.name, id: `setting-${f.name}` };
      let input;
      if (f.kind === "choice") {
        input = h("select", attrs, f.choices.map((c) => h("option", { value: c })));
      } else if (NUMERIC.has(f.kind)) {
        input = h("input", { ...attrs, type: "number", inputmode: "decimal", step: f.kind === "integer" ? 1 : "any", min: f.min, max: f.max });
      } else {
        input = h("input", { ...attrs, type: "text", autocomplete: "off", spellcheck: "false" });
      }
      input.disabled = this.readOnly;
      input.addEventListener("input", () => {
        this.errors.delete(f.name);
        this.renderErrors();
      });
      this.inputs.set(f.name, input);
    }
  }

  fill() {
    for (const f of this.fields) {
      const v = this.original[f.name];
      this.inputs.get(f.name).value = v === null || v === undefined ? "" : String(v);
    }
  }

  /** {name: value} of what differs from the hub's settings; numbers as numbers. */
  changes() {
    const out = {};
    for (const f of this.fields) {
      const raw = this.inputs.get(f.name).value.trim();
      const before = this.original[f.name];
      if (NUMERIC.has(f.kind)) {
        if (raw !== "" && Number(raw) === Number(before)) continue;
        out[f.name] = raw === "" || !Number.isFinite(Number(raw)) ? raw : Number(raw);
      } else if (raw !== String(before ?? "")) {
        out[f.name] = raw;
      }
    }
    return out;
  }

  async save() {
    if (!this.original || this.busy) return;
    const changes = this.changes();
    this.errors.clear();
    this.formError = "";
    for (const f of this.fields) {
      if (!(f.name in changes)) continue;
      const wrong = problem(f, String(changes[f.name]), this.town);
      if (wrong) this.errors.set(f.name, t("qs.bad_value", { label: label(f), rule: wrong }));
    }
    if (this.errors.size) {
      this.renderErrors();
      const first = this.inputs.get(this.errors.keys().next().value);
      first.scrollIntoView({ block: "center" }); // not under the dialog's sticky title
      first.focus({ preventScroll: true });
      return;
    }
    if (!Object.keys(changes).length) {
      this.toast(t("qs.nothing"), "info");
      return;
    }
    this.busy = true;
    this.renderErrors();
    try {
      const data = await api.putQueueSettings(this.town, changes);
      this.original = data.settings || this.original;
      this.toast(t("qs.saved"), "success");
      this.onSaved(this.town, this.original);
      this.dialog.close();
    } catch (err) {
      this.failed(err);
    } finally {
      this.busy = false;
      this.renderErrors();
    }
  }

  /** The hub refused: say which setting when its message names one, and show what it kept. */
  async failed(err) {
    const text = has(`error.${err.code}`) ? t(`error.${err.code}`) : err.message;
    const field = this.fields.find((f) => new RegExp(`\\b${f.name}\\b`).test(err.message || ""));
    if (field) this.errors.set(field.name, `${label(field)}: ${text}`);
    else this.formError = text;
    try {
      // The hub writes one setting at a time: those before the refused one are saved.
      this.original = (await api.getQueueSettings(this.town)).settings || this.original;
    } catch {
      // the form keeps what was typed; the next save compares with the older values
    }
    this.renderErrors();
  }

  renderErrors() {
    for (const f of this.fields) {
      const input = this.inputs.get(f.name);
      const msg = this.errors.get(f.name) || "";
      input.setAttribute("aria-invalid", String(Boolean(msg)));
      const out = this.body.querySelector(`[data-error-for="${f.name}"]`);
      if (out) {
        out.textContent = msg;
        out.hidden = !msg;
      }
    }
    const err = this.body.querySelector('[data-testid="queue-settings-error"]');
    if (err) {
      const first = this.formError || [...this.errors.values()][0] || "";
      err.textContent = first;
      err.hidden = !first;
    }
    const save = this.body.querySelector('[data-testid="queue-settings-save"]');
    if (save) {
      save.disabled = this.busy || !this.original;
      save.textContent = t(this.busy ? "request.saving" : "qs.save");
    }
  }

  field(f) {
    const input = this.inputs.get(f.name);
    if (f.kind === "choice") {
      for (const opt of input.options) opt.textContent = t(`qs.${f.name}.${opt.value}`);
    }
    if (has(`qs.${f.name}.ph`)) input.placeholder = t(`qs.${f.name}.ph`);
    return h(
      "div",
      { class: `qs-field qs-${f.kind}`, "data-setting": f.name },
      h("label", { for: input.id, class: "qs-label" }, label(f)),
      h("div", { class: "qs-control" }, input, f.unit ? h("span", { class: "qs-unit" }, t(`qs.unit.${f.unit}`)) : null),
      has(`qs.${f.name}.hint`) ? h("p", { class: "qs-hint" }, t(`qs.${f.name}.hint`)) : null,
      h("p", { class: "qs-error", "data-error-for": f.name, role: "alert", hidden: true }),
    );
  }

  render() {
    this.title.textContent = t(this.title.dataset.i18n);
    if (!this.original) {
      const text = this.loadError ? t("qs.failed", { message: this.loadError.message }) : t("qs.loading");
      this.body.replaceChildren(h("p", { class: `log-note${this.loadError ? " error" : ""}` }, text));
      return;
    }
    const save = this.readOnly
      ? null
      : h("button", { type: "submit", class: "btn primary big", "data-testid": "queue-settings-save" });
    const form = h(
      "form",
      { class: "qs-form", novalidate: true, "data-town": this.town },
      h("p", { class: "rules" }, t(this.readOnly ? "qs.intro_read" : "qs.intro")),
      GROUPS.map((g) => {
        const fields = this.fields.filter((f) => f.group === g);
        return fields.length
          ? h("fieldset", { class: "qs-group" }, h("legend", {}, t(`qs.group.${g}`)), fields.map((f) => this.field(f)))
          : null;
      }),
      h("p", { class: "form-error", role: "alert", "data-testid": "queue-settings-error", hidden: true }),
      save ? h("div", { class: "form-actions" }, save) : null,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (!this.readOnly) this.save();
    });
    this.body.replaceChildren(form);
    this.renderErrors();
  }

  /** The language changed: draw again, keeping what was typed. */
  relabel() {
    if (this.dialog.open) this.render();
  }
}
