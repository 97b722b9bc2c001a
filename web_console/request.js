// The tracked request of the call just answered: shown from the answer until it
// is saved, during and after the call. A draft survives a page reload.

import { saveRequest } from "./api.js";
import { t, tr } from "./i18n.js";

const DRAFT_PREFIX = "yijian.draft.";
const DEFAULT_STATUSES = ["open", "in_progress", "resolved"];

function readDraft(callId) {
  try {
    return JSON.parse(sessionStorage.getItem(DRAFT_PREFIX + callId) || "null");
  } catch {
    return null;
  }
}

function writeDraft(callId, draft) {
  try {
    if (draft) sessionStorage.setItem(DRAFT_PREFIX + callId, JSON.stringify(draft));
    else sessionStorage.removeItem(DRAFT_PREFIX + callId);
  } catch {
    // storage full or disabled: the draft only lives in the form
  }
}

export class RequestForm {
  /** @param onSaved function(call) after a successful save */
  constructor({ form, savedCard, onSaved, toast }) {
    this.form = form;
    this.summary = form.querySelector("#request-summary");
    this.category = form.querySelector("#request-category");
    this.status = form.querySelector("#request-status");
    this.saveBtn = form.querySelector("#request-save");
    this.error = form.querySelector("#request-error");
    this.forLine = form.querySelector("#request-for");
    this.savedCard = savedCard;
    this.savedText = savedCard.querySelector("#request-saved-text");
    this.onSaved = onSaved;
    this.toast = toast;
    this.categories = [];
    this.statuses = DEFAULT_STATUSES;
    this.call = null; // the call whose request is being written
    this.saved = null; // {call, summary} after a save, until the next call
    this.busy = false;
    this.errorText = null;
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.submit();
    });
    form.addEventListener("input", () => this.keepDraft());
  }

  get isOpen() {
    return this.call !== null;
  }

  setConfig({ categories, request_statuses: statuses }) {
    if (Array.isArray(categories) && categories.length) this.categories = categories;
    if (Array.isArray(statuses) && statuses.length) this.statuses = statuses;
    this.fillOptions();
  }

  fillOptions() {
    const fill = (select, values, label) => {
      const current = select.value;
      select.replaceChildren(
        ...values.map((v) => {
          const opt = document.createElement("option");
          opt.value = v;
          opt.textContent = label(v);
          return opt;
        }),
      );
      if (values.includes(current)) select.value = current;
    };
    fill(this.category, this.categories, (v) => tr("cat", v));
    fill(this.status, this.statuses, (v) => tr("req", v));
  }

  /** Show the form for `call` (a CallView). The same call keeps what was typed. */
  open(call) {
    if (this.call && this.call.id === call.id) {
      this.call = { ...this.call, ...call };
      this.render();
      return;
    }
    this.call = call;
    this.saved = null;
    this.errorText = null;
    const draft = readDraft(call.id);
    this.summary.value = draft ? draft.summary : "";
    this.fillOptions();
    this.category.value = draft && this.categories.includes(draft.category) ? draft.category : this.categories[0] || "";
    this.status.value = draft && this.statuses.includes(draft.status) ? draft.status : this.statuses[0];
    this.render();
  }

  /** The call went back to the queue: close the form; its draft stays for whoever
   * of this browser answers it again. */
  putBack(callId) {
    if (!this.call || this.call.id !== callId) return;
    this.call = null;
    this.errorText = null;
    this.render();
  }

  /** Forget everything (logout). */
  reset() {
    this.call = null;
    this.saved = null;
    this.errorText = null;
    this.summary.value = "";
    this.render();
  }

  keepDraft() {
    if (!this.call) return;
    writeDraft(this.call.id, this.values());
  }

  values() {
    return {
      summary: this.summary.value.trim(),
      category: this.category.value,
      status: this.status.value,
    };
  }

  async submit() {
    if (!this.call || this.busy) return;
    const values = this.values();
    if (!values.summary) {
      this.errorText = t("request.empty");
      this.render();
      this.summary.focus();
      return;
    }
    const call = this.call;
    this.busy = true;
    this.errorText = null;
    this.render();
    try {
      const updated = await saveRequest(call.id, values);
      writeDraft(call.id, null);
      if (this.call && this.call.id === call.id) {
        this.call = null;
        this.saved = { call, summary: values.summary };
      }
      this.toast(t("request.saved"), "success");
      this.onSaved(updated);
    } catch (err) {
      this.errorText = t("request.failed", { message: err.message });
    } finally {
      this.busy = false;
      this.render();
    }
  }

  render() {
    const call = this.call;
    this.form.hidden = !call;
    this.savedCard.hidden = !this.saved || Boolean(call);
    if (this.saved) this.savedText.textContent = this.saved.summary;
    this.fillOptions();
    if (!call) return;
    this.forLine.textContent = t(call.callback_of ? "request.for_callback" : "request.for", {
      kiosk: call.kiosk_name || call.kiosk_id,
      village: call.village || "",
      number: call.callback_of || "",
    });
    this.error.hidden = !this.errorText;
    this.error.textContent = this.errorText || "";
    this.saveBtn.disabled = this.busy;
    this.saveBtn.textContent = t(this.busy ? "request.saving" : "request.save");
  }
}
