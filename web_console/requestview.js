// One tracked request, in its own dialog: its fields (editable, in requestedit.js), its
// notes (append-only), its history and the calls linked to it, each of which opens the
// call's own detail with its event timeline.

import { addNote, getCall, getRequest, updateRequest } from "./api.js";
import { callbackButton, statusChip } from "./calllog.js";
import { h } from "./dom.js";
import { dateOf } from "./dates.js";
import { clock, dateTime } from "./format.js";
import { has, t } from "./i18n.js";
import { callbackTag, historyList, overdueTag, requestStatusChip, satisfactionChip } from "./requestparts.js";
import { needsResolution, RequestEditForm } from "./requestedit.js";
import { PiplActions } from "./requestpipl.js";

export { canClose } from "./requestedit.js"; // review.js asks it from here

const MAX_CALLS_SHOWN = 20;

function errorText(err) {
  if (err && err.code && has(`error.${err.code}`)) return t(`error.${err.code}`);
  return (err && err.message) || String(err);
}

export class RequestDetail {
  /**
   * @param openCall   function(callId) shows a call's detail above this dialog
   * @param onChanged  function(item) after an edit or a note
   * @param role       function() → the signed-in operator's role
   * @param categories function() → the town's categories
   * @param onCallback function(target) calls the request's kiosk back (回电)
   * @param onDeleted  function(item) after a PIPL deletion
   */
  constructor({ dialog, toast, openCall, onChanged, role, categories, onCallback, onDeleted }) {
    this.dialog = dialog;
    this.body = dialog.querySelector(".detail-body");
    this.toast = toast;
    this.openCall = openCall;
    this.onChanged = onChanged;
    this.onCallback = onCallback || null;
    this.item = null; // the request with notes and history
    this.calls = new Map(); // call id -> call, for the linked calls
    this.busy = false;
    this.errorText = "";
    this.edit = new RequestEditForm({
      role,
      categories,
      onSave: () => this.save(),
      onAddNote: () => this.appendNote(),
      onStatusChange: () => this.renderForm(),
    });
    this.f = this.edit.f; // the form's elements
    this.pipl = new PiplActions({
      role,
      errorText,
      rerender: () => this.render(),
      done: async (kind, item) => {
        this.toast(t(`pipl.${kind}_done`, { number: item.number || item.id }), "success");
        if (kind === "delete") {
          this.dialog.close();
          if (onDeleted) onDeleted(item);
          return;
        }
        await this.load(item.id, true);
        this.onChanged(this.item);
      },
    });
    dialog.addEventListener("close", () => {
      this.item = null;
      this.pipl.reset();
    });
    this.body.addEventListener("click", (ev) => {
      const btn = ev.target.closest("button[data-call-id]");
      if (btn) this.openCall(btn.dataset.callId);
    });
  }

  async open(id) {
    try {
      await this.load(id, true);
      if (!this.dialog.open) this.dialog.showModal();
    } catch (err) {
      this.toast(t("rq.open_failed", { message: errorText(err) }), "error");
    }
  }

  async load(id, fresh) {
    const item = await getRequest(id);
    this.item = item;
    if (fresh) {
      this.errorText = "";
      this.f.newNote.value = "";
      this.edit.fill(item);
    }
    this.render();
    this.loadCalls(item);
  }

  async loadCalls(item) {
    const ids = (item.call_ids || []).slice(-MAX_CALLS_SHOWN).filter((id) => !this.calls.has(id));
    const got = await Promise.allSettled(ids.map((id) => getCall(id)));
    got.forEach((r, i) => r.status === "fulfilled" && this.calls.set(ids[i], r.value));
    if (this.item && this.item.id === item.id && ids.length) this.render();
  }

  /** The form's parts that follow the chosen status, the language and a save under way. */
  renderForm() {
    this.edit.render(this.item, this);
  }

  async save() {
    if (!this.item || this.busy) return;
    const changes = this.edit.changes(this.item);
    this.errorText = "";
    if (changes.status && needsResolution(this.item, changes.status) && !changes.note) {
      this.errorText = t("error.resolution_note_required");
      this.renderForm();
      this.f.note.focus();
      return;
    }
    if (Object.keys(changes).length === 0) {
      this.toast(t("rq.nothing_changed"), "info");
      return;
    }
    await this.run(() => updateRequest(this.item.id, changes), "rq.saved");
  }

  async appendNote() {
    const text = this.f.newNote.value.trim();
    if (!this.item || this.busy || !text) return;
    if (await this.run(() => addNote(this.item.id, text), "rq.note_added")) this.f.newNote.value = "";
  }

  /** Send one change, then show the request as the hub now has it. */
  async run(send, doneKey) {
    const id = this.item.id;
    this.busy = true;
    this.renderForm();
    try {
      await send();
      this.toast(t(doneKey), "success");
      this.busy = false;
      await this.load(id, doneKey === "rq.saved");
      this.onChanged(this.item);
      return true;
    } catch (err) {
      this.errorText = errorText(err);
      return false;
    } finally {
      this.busy = false;
      this.renderForm();
    }
  }

  render() {
    const item = this.item;
    if (!item) return;
    const none = t("detail.none");
    const fact = (label, value) => [h("dt", {}, label), h("dd", {}, value || none)];
    const place = [item.kiosk_name || item.kiosk_id, item.village].filter(Boolean).join(" · ");
    this.renderForm();
    this.body.replaceChildren(
      h(
        "div",
        { class: "detail-head rq-head" },
        h("h3", { "data-testid": "request-number" }, item.number || item.id),
        h("span", { "data-testid": "request-detail-status" }, requestStatusChip(item.status)),
        item.overdue ? overdueTag() : null,
        item.kind === "callback" ? callbackTag() : null,
        item.anonymised_at
          ? h("span", { class: "tag anonymised", "data-testid": "anonymised-tag", title: dateTime(item.anonymised_at) }, t("rq.anonymised"))
          : null,
        satisfactionChip(item.satisfaction),
        this.callbackButton(item),
      ),
      h(
        "div",
        { class: "rq-grid" },
        h(
          "div",
          { class: "rq-main" },
          h(
            "dl",
            { class: "facts" },
            fact(t("rq.col.place"), place),
            fact(t("rq.col.created"), dateTime(item.created_at)),
            fact(t("rq.updated"), dateTime(item.updated_at)),
            item.due_at ? fact(t("rq.col.due"), dateOf(item.due_at)) : null,
            item.resolved_at ? fact(t("rq.resolved_at"), dateTime(item.resolved_at)) : null,
          ),
          this.f.form,
          h("h4", {}, t("rq.notes")),
          this.notesList(item.notes || []),
          this.f.noteForm,
        ),
        h(
          "div",
          { class: "rq-side" },
          h("h4", {}, t("rq.calls")),
          this.callsList(item.call_ids || []),
          h("h4", {}, t("rq.history")),
          historyList(item.history),
          this.pipl.section(item),
        ),
      ),
    );
  }

  /** 回电: ring the request's kiosk, linked to this request. */
  callbackButton(item) {
    if (!this.onCallback || !item.kiosk_id) return null;
    return callbackButton(this.onCallback, {
      kiosk_id: item.kiosk_id,
      kiosk_name: item.kiosk_name,
      village: item.village,
      request_id: item.id,
      request_number: item.number || "",
    });
  }

  notesList(notes) {
    if (!notes.length) return h("p", { class: "muted", "data-testid": "request-notes" }, t("rq.no_notes"));
    return h(
      "ol",
      { class: "notes", "data-testid": "request-notes" },
      notes.map((n) =>
        h(
          "li",
          { "data-testid": "request-note" },
          h("div", { class: "note-meta" }, h("strong", {}, n.author || t("detail.none")), " · ", dateTime(n.at)),
          h("div", { class: "note-text" }, n.text),
        ),
      ),
    );
  }

  callsList(ids) {
    if (!ids.length) return h("p", { class: "muted", "data-testid": "request-calls" }, t("rq.no_calls"));
    return h(
      "ul",
      { class: "linked-calls", "data-testid": "request-calls" },
      [...ids].reverse().slice(0, MAX_CALLS_SHOWN).map((id) => {
        const c = this.calls.get(id);
        const talk = c && typeof c.talk_s === "number" ? clock(c.talk_s) : "";
        return h(
          "li",
          {},
          h(
            "button",
            { type: "button", class: "linked-call", "data-testid": "request-call", "data-call-id": id },
            h("span", { class: "nowrap" }, c ? dateTime(c.created_at) : id),
            c ? statusChip(c.status) : null,
            c && c.operator ? h("span", { class: "muted" }, c.operator) : null,
            talk ? h("span", { class: "muted num" }, talk) : null,
          ),
        );
      }),
    );
  }

  /** Re-draw in the current language; what is being typed stays. */
  relabel() {
    if (this.item && this.dialog.open) this.render();
  }
}
