// PIPL in a request's dialog (requestview.js), for supervisors and admins: 匿名化 blanks
// the request's words and keeps its number, status and times; 删除 removes it and
// unlinks its calls. Each asks for confirmation and a reason, which goes to the audit
// log (so it should name no one).

import { api } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

export const canForget = (role) => role === "supervisor" || role === "admin";
const MAX_REASON = 200; // server/tracking/pipl.py

export class PiplActions {
  /**
   * @param role      function() → the signed-in operator's role
   * @param rerender  function() redraws the dialog
   * @param done      function(kind, item) after "anonymise" or "delete" succeeded
   * @param errorText function(err) → words for a refusal
   */
  constructor({ role, rerender, done, errorText }) {
    Object.assign(this, { role, rerender, done, errorText });
    this.asking = null; // "anonymise" | "delete" while the confirmation shows
    this.busy = false;
    this.error = "";
    // Kept across redraws, so what is typed stays.
    this.reason = h("input", {
      type: "text", maxlength: MAX_REASON, class: "pipl-reason", "data-testid": "request-pipl-reason",
    });
  }

  reset() {
    this.asking = null;
    this.error = "";
    this.reason.value = "";
  }

  ask(kind) {
    this.asking = kind;
    this.error = "";
    this.rerender();
    this.reason.focus();
  }

  async confirm(item) {
    const reason = this.reason.value.trim();
    if (!reason) {
      this.error = t("pipl.reason_required");
      this.rerender();
      return;
    }
    const kind = this.asking;
    const path = `/api/requests/${encodeURIComponent(item.id)}`;
    this.busy = true;
    this.rerender();
    try {
      if (kind === "anonymise") await api("POST", `${path}/anonymise`, { reason });
      else await api("DELETE", path, { reason });
      this.reset();
      this.busy = false;
      await this.done(kind, item);
    } catch (err) {
      this.error = this.errorText(err);
    } finally {
      this.busy = false;
      this.rerender();
    }
  }

  button(kind, testid) {
    const btn = h("button", { type: "button", class: "btn quiet", "data-testid": testid, disabled: this.busy }, t(`pipl.${kind}`));
    btn.addEventListener("click", () => this.ask(kind));
    return btn;
  }

  /** The dialog's PIPL part, or null for a plain operator. */
  section(item) {
    if (!canForget(this.role())) return null;
    const buttons = h(
      "div",
      { class: "pipl-buttons" },
      item.anonymised_at ? null : this.button("anonymise", "request-anonymise"),
      this.button("delete", "request-delete"),
    );
    let confirmBox = null;
    if (this.asking) {
      const go = h("button", { type: "button", class: "btn danger", "data-testid": "request-pipl-confirm", disabled: this.busy }, t(`pipl.${this.asking}_go`));
      go.addEventListener("click", () => this.confirm(item));
      const cancel = h("button", { type: "button", class: "btn", "data-testid": "request-pipl-cancel" }, t("pipl.cancel"));
      cancel.addEventListener("click", () => {
        this.reset();
        this.rerender();
      });
      confirmBox = h(
        "div",
        { class: "pipl-confirm", role: "alertdialog", "data-testid": "request-pipl-confirm-box", "data-kind": this.asking },
        h("p", {}, t(`pipl.${this.asking}_confirm`, { number: item.number || item.id })),
        h("label", {}, t("pipl.reason"), " ", this.reason),
        this.error ? h("p", { class: "form-error", role: "alert", "data-testid": "request-pipl-error" }, this.error) : null,
        h("div", { class: "pipl-buttons" }, go, cancel),
      );
    }
    return h("section", { class: "pipl", "data-testid": "request-pipl" }, h("h4", {}, t("pipl.title")), buttons, confirmBox);
  }
}
