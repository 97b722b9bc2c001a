// One tracked request, in its own dialog: its fields (editable, with the status rules
// said in words), its notes (append-only), its history and the calls linked to it,
// each of which opens the call's own detail with its event timeline.

import { addNote, getCall, getRequest, updateRequest } from "./api.js";
import { h, statusChip } from "./calllog.js";
import { dateOf, dayAfter, dayStart, isoDay } from "./dates.js";
import { clock, dateTime } from "./format.js";
import { has, t, tr } from "./i18n.js";
import { callbackTag, historyList, overdueTag, requestStatusChip, satisfactionChip } from "./requestparts.js";

const BASE_STATUSES = ["open", "in_progress", "resolved"];
const MAX_CALLS_SHOWN = 20;

export const canClose = (role) => role === "supervisor" || role === "admin";

/** The hub's rule: resolving, or closing what was never resolved, needs a resolution note. */
const needsResolution = (item, to) =>
  to !== item.status && (to === "resolved" || (to === "closed" && !item.resolved_at));

function errorText(err) {
  if (err && err.code && has(`error.${err.code}`)) return t(`error.${err.code}`);
  return (err && err.message) || String(err);
}

/** The local day of a due instant, as <input type="date"> wants it. */
const dueDay = (iso) => (iso ? isoDay(new Date(iso)) : "");
/** Due by the end of the chosen local day. */
const dueIso = (day) => (dayStart(day) ? new Date(dayAfter(day).getTime() - 1000).toISOString() : null);

export class RequestDetail {
  /**
   * @param openCall   function(callId) shows a call's detail above this dialog
   * @param onChanged  function(item) after an edit or a note
   * @param role       function() → the signed-in operator's role
   * @param categories function() → the town's categories
   * @param onCallback function(target) calls the request's kiosk back (回电)
   */
  constructor({ dialog, toast, openCall, onChanged, role, categories, onCallback }) {
    this.dialog = dialog;
    this.body = dialog.querySelector(".detail-body");
    this.toast = toast;
    this.openCall = openCall;
    this.onChanged = onChanged;
    this.role = role;
    this.categories = categories;
    this.onCallback = onCallback || null;
    this.item = null; // the request with notes and history
    this.calls = new Map(); // call id -> call, for the linked calls
    this.busy = false;
    this.errorText = "";
    this.buildForm();
    dialog.addEventListener("close", () => {
      this.item = null;
    });
    this.body.addEventListener("click", (ev) => {
      const btn = ev.target.closest("button[data-call-id]");
      if (btn) this.openCall(btn.dataset.callId);
    });
  }

  buildForm() {
    const f = (this.f = {});
    const field = (key, control) => h("label", { class: "field" }, (f[`${key}Label`] = h("span")), control);
    f.summary = h("textarea", { rows: 4, maxlength: 2000, "data-testid": "request-edit-summary" });
    f.category = h("select", { "data-testid": "request-edit-category" });
    f.status = h("select", { "data-testid": "request-edit-status" });
    f.assignee = h("input", { "data-testid": "request-edit-assignee", maxlength: 64, list: "filter-operator-list" });
    f.due = h("input", { type: "date", "data-testid": "request-edit-due" });
    f.note = h("textarea", { rows: 3, maxlength: 2000, "data-testid": "request-edit-note" });
    f.rules = h("p", { class: "rules", "data-testid": "request-rules" });
    f.error = h("p", { class: "form-error", role: "alert", "data-testid": "request-edit-error", hidden: true });
    f.save = h("button", { type: "submit", class: "btn primary", "data-testid": "request-edit-save" });
    f.noteWrap = field("note", f.note);
    f.form = h(
      "form",
      { class: "rq-edit", "data-testid": "request-edit", novalidate: true },
      field("summary", f.summary),
      h("div", { class: "field-row" }, field("category", f.category), field("status", f.status)),
      h("div", { class: "field-row" }, field("assignee", f.assignee), field("due", f.due)),
      f.rules,
      f.noteWrap,
      f.error,
      h("div", { class: "form-actions" }, f.save),
    );
    f.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.save();
    });
    f.status.addEventListener("change", () => this.renderForm());
    f.newNote = h("textarea", { rows: 2, maxlength: 2000, "data-testid": "request-note-text" });
    f.addNote = h("button", { type: "submit", class: "btn", "data-testid": "request-note-add" });
    f.noteForm = h("form", { class: "note-form", novalidate: true }, f.newNote, f.addNote);
    f.noteForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.appendNote();
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
      this.fillForm();
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

  fillForm() {
    const { f, item } = this;
    f.summary.value = item.summary || "";
    f.assignee.value = item.assignee || "";
    f.due.value = dueDay(item.due_at);
    f.note.value = "";
    f.category.replaceChildren(); // so that fillOptions takes this request's values
    f.status.replaceChildren();
    this.fillOptions();
    f.category.value = item.category || "";
    f.status.value = item.status;
  }

  fillOptions() {
    const { f, item } = this;
    const option = (value, label, disabled) => h("option", { value, disabled }, label);
    const keepCat = f.category.value || item.category || "";
    const cats = [...this.categories()];
    if (keepCat && !cats.includes(keepCat)) cats.push(keepCat);
    f.category.replaceChildren(option("", t("rq.no_category")), ...cats.map((c) => option(c, tr("cat", c))));
    f.category.value = keepCat;
    const keepStatus = f.status.value || item.status;
    const statuses = [...BASE_STATUSES, "closed"].filter(
      (s) => BASE_STATUSES.includes(s) || canClose(this.role()) || item.status === s,
    );
    f.status.replaceChildren(
      ...statuses.map((s) => option(s, tr("req", s), s === "closed" && !canClose(this.role()))),
    );
    f.status.value = keepStatus;
  }

  /** The parts of the form that follow the chosen status and the language. */
  renderForm() {
    const { f, item } = this;
    for (const key of ["summary", "category", "status", "assignee", "due"]) f[`${key}Label`].textContent = t(`rq.field.${key}`);
    this.fillOptions();
    const next = f.status.value;
    const resolving = needsResolution(item, next);
    f.noteWrap.hidden = next === item.status;
    f.noteLabel.textContent = t(resolving ? "rq.field.resolution" : "rq.field.status_note");
    f.note.placeholder = t(resolving ? "rq.resolution_ph" : "rq.status_note_ph");
    f.note.required = resolving;
    f.rules.replaceChildren(
      t("rq.rules"),
      h("br"),
      t(canClose(this.role()) ? "rq.rules_supervisor" : "rq.rules_operator"),
    );
    f.error.hidden = !this.errorText;
    f.error.textContent = this.errorText;
    f.save.disabled = this.busy;
    f.save.textContent = t(this.busy ? "request.saving" : "rq.save");
    f.newNote.placeholder = t("rq.note_ph");
    f.addNote.textContent = t("rq.add_note");
    f.addNote.disabled = this.busy;
  }

  changes() {
    const { f, item } = this;
    const out = {};
    const summary = f.summary.value.trim();
    if (summary !== (item.summary || "")) out.summary = summary;
    if (f.category.value !== (item.category || "")) out.category = f.category.value;
    if (f.status.value !== item.status) out.status = f.status.value;
    const assignee = f.assignee.value.trim();
    if (assignee !== (item.assignee || "")) out.assignee = assignee || null;
    if (f.due.value !== dueDay(item.due_at)) out.due_at = dueIso(f.due.value);
    const note = f.note.value.trim();
    if (note && out.status) out.note = note;
    return out;
  }

  async save() {
    if (!this.item || this.busy) return;
    const changes = this.changes();
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
        ),
      ),
    );
  }

  /** 回电: ring the request's kiosk, linked to this request. */
  callbackButton(item) {
    if (!this.onCallback || !item.kiosk_id) return null;
    const btn = h(
      "button",
      { type: "button", class: "btn callback-btn", "data-testid": "callback-call", title: t("callback.hint") },
      t("callback.button"),
    );
    btn.addEventListener("click", () =>
      this.onCallback({
        kiosk_id: item.kiosk_id,
        kiosk_name: item.kiosk_name,
        village: item.village,
        request_id: item.id,
        request_number: item.number || "",
      }),
    );
    return btn;
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
