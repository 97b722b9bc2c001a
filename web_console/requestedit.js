// The edit form in a request's dialog (requestview.js): its fields, the statuses the
// operator may choose with the rules said in words, the resolution a status change
// asks for, and the append-only note box under the notes. Holds no request itself:
// the dialog passes the request it shows.

import { h } from "./dom.js";
import { dayAfter, dayStart, isoDay } from "./dates.js";
import { t, tr } from "./i18n.js";

const BASE_STATUSES = ["open", "in_progress", "resolved"];

export const canClose = (role) => role === "supervisor" || role === "admin";

/** The hub's rule: resolving, or closing what was never resolved, needs a resolution note. */
export const needsResolution = (item, to) =>
  to !== item.status && (to === "resolved" || (to === "closed" && !item.resolved_at));

/** The local day of a due instant, as <input type="date"> wants it. */
const dueDay = (iso) => (iso ? isoDay(new Date(iso)) : "");
/** Due by the end of the chosen local day. */
const dueIso = (day) => (dayStart(day) ? new Date(dayAfter(day).getTime() - 1000).toISOString() : null);

export class RequestEditForm {
  /**
   * @param role           function() → the signed-in operator's role
   * @param categories     function() → the town's categories
   * @param onSave         function() when the form is submitted
   * @param onAddNote      function() when the note box is submitted
   * @param onStatusChange function() when another status is chosen
   */
  constructor({ role, categories, onSave, onAddNote, onStatusChange }) {
    this.role = role;
    this.categories = categories;
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
      onSave();
    });
    f.status.addEventListener("change", () => onStatusChange());
    f.newNote = h("textarea", { rows: 2, maxlength: 2000, "data-testid": "request-note-text" });
    f.addNote = h("button", { type: "submit", class: "btn", "data-testid": "request-note-add" });
    f.noteForm = h("form", { class: "note-form", novalidate: true }, f.newNote, f.addNote);
    f.noteForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      onAddNote();
    });
  }

  /** Start over from the request as the hub has it. */
  fill(item) {
    const f = this.f;
    f.summary.value = item.summary || "";
    f.assignee.value = item.assignee || "";
    f.due.value = dueDay(item.due_at);
    f.note.value = "";
    f.category.replaceChildren(); // so that fillOptions takes this request's values
    f.status.replaceChildren();
    this.fillOptions(item);
    f.category.value = item.category || "";
    f.status.value = item.status;
  }

  fillOptions(item) {
    const f = this.f;
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
  render(item, { busy, errorText }) {
    const f = this.f;
    for (const key of ["summary", "category", "status", "assignee", "due"]) f[`${key}Label`].textContent = t(`rq.field.${key}`);
    this.fillOptions(item);
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
    f.error.hidden = !errorText;
    f.error.textContent = errorText;
    f.save.disabled = busy;
    f.save.textContent = t(busy ? "request.saving" : "rq.save");
    f.newNote.placeholder = t("rq.note_ph");
    f.addNote.textContent = t("rq.add_note");
    f.addNote.disabled = busy;
  }

  /** What the form changes in the request, as the hub's PATCH wants it. */
  changes(item) {
    const f = this.f;
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
}
