// 人员与设备 (people and kiosks), on the desk of supervisors and admins: the town's
// operators (an admin: every town's) with add, disable and re-enable, password reset,
// role and town; and, for admins, the kiosks with a new token (shown once) or revoke.
// The hub decides who may do what (a supervisor makes no admin and reaches no other
// town); this panel only hides what it would refuse. Every change ends that operator's
// sessions at once, so they sign in again.

import { api, query } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { hubErrorText } from "./toast.js";

const ROLES = ["operator", "supervisor", "admin"];
const path = (...parts) => parts.map(encodeURIComponent).join("/");

export class StaffPanel {
  /** @param view the panel's <section>; @param toast function(text, kind) */
  constructor({ view, toast }) {
    this.view = view;
    this.toast = toast;
    this.operator = null;
    this.people = [];
    this.kiosks = [];
    this.towns = [];
    this.resetting = null; // the username whose password form is open
    this.token = null; // {id, token} of the kiosk just rotated: shown once
    this.error = null;
    this.form = view.querySelector("#staff-add");
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.add();
    });
    view.querySelector("#staff-refresh").addEventListener("click", () => this.load());
    view.addEventListener("click", (ev) => this.clicked(ev));
    view.addEventListener("change", (ev) => this.changed(ev));
    view.addEventListener("submit", (ev) => this.passwordSubmitted(ev));
  }

  get admin() {
    return Boolean(this.operator && this.operator.role === "admin");
  }

  setOperator(info) {
    this.operator = info;
    this.people = [];
    this.kiosks = [];
    this.token = null;
    this.resetting = null;
    const manages = Boolean(info && (info.role === "supervisor" || info.role === "admin"));
    this.view.hidden = !manages;
    if (manages) this.load();
  }

  async load() {
    try {
      const [people, towns, kiosks] = await Promise.all([
        api("GET", `/api/operators${query({ town: this.admin ? "" : this.operator.town_id })}`),
        api("GET", "/api/towns"),
        this.admin ? api("GET", "/api/kiosks") : { items: [] },
      ]);
      this.people = people.items;
      this.towns = towns.items;
      this.kiosks = kiosks.items;
      this.error = null;
    } catch (err) {
      this.error = err;
    }
    this.render();
  }

  /** Do one change; a refusal is said in words, and the list is read again either way. */
  async change(username, body) {
    try {
      await api("PATCH", `/api/operators/${path(username)}`, body);
      this.toast(t("staff.saved", { name: username }), "success");
    } catch (err) {
      this.toast(hubErrorText(err), "error");
    }
    await this.load();
  }

  async add() {
    const data = Object.fromEntries(new FormData(this.form));
    if (!this.admin) data.town_id = this.operator.town_id;
    try {
      await api("POST", "/api/operators", data);
      this.form.reset();
      this.toast(t("staff.added", { name: data.username }), "success");
    } catch (err) {
      this.toast(hubErrorText(err), "error");
    }
    await this.load();
  }

  async kiosk(id, verb) {
    if (!window.confirm(t(`staff.kiosk.${verb}_confirm`, { id }))) return;
    try {
      const got = await api("POST", `/api/kiosks/${path(id)}/${verb}`);
      this.token = verb === "rotate" ? got : null;
    } catch (err) {
      this.toast(hubErrorText(err), "error");
    }
    await this.load();
  }

  clicked(ev) {
    const btn = ev.target.closest("button[data-action]");
    if (!btn) return;
    const { action, username, kiosk } = btn.dataset;
    if (action === "disable" || action === "enable") this.change(username, { disabled: action === "disable" });
    else if (action === "password") {
      this.resetting = this.resetting === username ? null : username;
      this.render();
    } else if (action === "rotate" || action === "revoke") this.kiosk(kiosk, action);
  }

  changed(ev) {
    const el = ev.target;
    if (!el.dataset.username) return;
    if (el.name === "role") this.change(el.dataset.username, { role: el.value });
    else if (el.name === "town_id") this.change(el.dataset.username, { town_id: el.value });
  }

  passwordSubmitted(ev) {
    const form = ev.target.closest("form[data-username]");
    if (!form) return;
    ev.preventDefault();
    const password = form.elements.password.value;
    this.resetting = null;
    this.change(form.dataset.username, { password });
  }

  grantable() {
    return this.admin ? ROLES : ROLES.filter((r) => r !== "admin");
  }

  roleSelect(op, own) {
    const roles = op.role === "admin" ? ROLES : this.grantable();
    return h(
      "select",
      { name: "role", "data-username": op.username, "data-testid": "staff-role", disabled: own, "aria-label": t("staff.col.role") },
      roles.map((r) => h("option", { value: r, selected: r === op.role }, t(`staff.role.${r}`))),
    );
  }

  townCell(op, own) {
    if (!this.admin) return op.town_id;
    return h(
      "select",
      { name: "town_id", "data-username": op.username, "data-testid": "staff-town", disabled: own, "aria-label": t("staff.col.town") },
      this.towns.map((town) => h("option", { value: town.id, selected: town.id === op.town_id }, town.name || town.id)),
    );
  }

  row(op) {
    const own = op.username === this.operator.username;
    const locked = op.role === "admin" && !this.admin; // a supervisor never touches an admin
    const resetForm = this.resetting === op.username
      ? h(
        "form",
        { class: "staff-password", "data-username": op.username },
        h("input", { type: "password", name: "password", minlength: 8, maxlength: 256, required: true, autocomplete: "new-password", "data-testid": "staff-new-password", "aria-label": t("staff.new_password") }),
        h("button", { type: "submit", class: "btn", "data-testid": "staff-password-save" }, t("staff.password_save")),
      )
      : null;
    return h(
      "tr",
      { "data-testid": "staff-row", "data-username": op.username, "data-disabled": String(op.disabled) },
      h("td", { class: "nowrap" }, h("strong", {}, op.username), own ? h("span", { class: "muted" }, ` ${t("team.you")}`) : null),
      h("td", {}, this.townCell(op, own || locked)),
      h("td", {}, locked ? t(`staff.role.${op.role}`) : this.roleSelect(op, own)),
      h("td", {}, h("span", { class: `chip ${op.disabled ? "presence-offline" : "presence-available"}` }, t(op.disabled ? "staff.disabled" : "staff.enabled"))),
      h(
        "td",
        { class: "staff-actions" },
        own || locked
          ? null
          : h("button", { type: "button", class: "btn", "data-action": op.disabled ? "enable" : "disable", "data-username": op.username, "data-testid": op.disabled ? "staff-enable" : "staff-disable" }, t(op.disabled ? "staff.enable" : "staff.disable")),
        locked ? null : h("button", { type: "button", class: "btn", "data-action": "password", "data-username": op.username, "data-testid": "staff-password" }, t("staff.password")),
        resetForm,
      ),
    );
  }

  kioskRow(k) {
    return h(
      "tr",
      { "data-testid": "kiosk-row", "data-kiosk-id": k.id, "data-revoked": String(k.revoked) },
      h("td", { class: "nowrap" }, h("strong", {}, k.id)),
      h("td", {}, [k.name, k.village].filter(Boolean).join(" · ")),
      h("td", {}, k.town_id),
      h("td", {}, h("span", { class: `chip ${k.revoked ? "presence-offline" : "presence-available"}` }, t(k.revoked ? "staff.kiosk.revoked" : "staff.kiosk.active"))),
      h(
        "td",
        { class: "staff-actions" },
        h("button", { type: "button", class: "btn", "data-action": "rotate", "data-kiosk": k.id, "data-testid": "kiosk-rotate" }, t("staff.kiosk.rotate")),
        k.revoked ? null : h("button", { type: "button", class: "btn", "data-action": "revoke", "data-kiosk": k.id, "data-testid": "kiosk-revoke" }, t("staff.kiosk.revoke")),
      ),
    );
  }

  renderForm() {
    const role = this.form.elements.role;
    const keep = role.value;
    role.replaceChildren(...this.grantable().map((r) => h("option", { value: r }, t(`staff.role.${r}`))));
    role.value = this.grantable().includes(keep) ? keep : "operator";
    const town = this.form.elements.town_id;
    town.hidden = !this.admin;
    town.disabled = !this.admin;
    const keepTown = town.value || (this.operator ? this.operator.town_id : "");
    town.replaceChildren(...this.towns.map((tn) => h("option", { value: tn.id }, tn.name || tn.id)));
    town.value = keepTown;
  }

  render() {
    if (!this.operator) return;
    this.renderForm();
    this.view.querySelector("#staff-body").replaceChildren(...this.people.map((op) => this.row(op)));
    const kiosks = this.view.querySelector("#kiosks-part");
    kiosks.hidden = !this.admin;
    this.view.querySelector("#kiosks-body").replaceChildren(...this.kiosks.map((k) => this.kioskRow(k)));
    const token = this.view.querySelector("#kiosk-token");
    token.hidden = !this.token;
    token.replaceChildren(
      ...(this.token
        ? [t("staff.kiosk.token", { id: this.token.id }), h("code", { "data-testid": "kiosk-token-value" }, this.token.token)]
        : []),
    );
    const note = this.view.querySelector("#staff-note");
    note.textContent = this.error ? t("staff.failed", { message: hubErrorText(this.error) }) : "";
    note.hidden = !this.error;
  }
}
