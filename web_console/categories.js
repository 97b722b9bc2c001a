// The town's request categories, edited by a supervisor: remove, add, save. The
// list is the town's own (GET/PUT /api/towns/{town}/categories); requests already
// filed keep the category they have.

import { putCategories } from "./api.js";
import { h } from "./dom.js";
import { has, t, tr } from "./i18n.js";

const MAX_LEN = 40;

export class CategoryEditor {
  /** @param onSaved function(categories) after the hub took the new list */
  constructor({ dialog, toast, onSaved }) {
    this.dialog = dialog;
    this.body = dialog.querySelector(".detail-body");
    this.toast = toast;
    this.onSaved = onSaved;
    this.town = null;
    this.list = [];
    this.busy = false;
    this.errorText = "";
    this.input = h("input", { "data-testid": "category-new", maxlength: MAX_LEN });
    this.body.addEventListener("click", (ev) => {
      const btn = ev.target.closest("button[data-remove]");
      if (btn) {
        this.list = this.list.filter((c) => c !== btn.dataset.remove);
        this.render();
      }
    });
  }

  open(town, categories) {
    this.town = town;
    this.list = [...categories];
    this.errorText = "";
    this.input.value = "";
    this.render();
    if (!this.dialog.open) this.dialog.showModal();
  }

  add() {
    const name = this.input.value.trim();
    this.errorText = "";
    if (!name) return;
    if (this.list.includes(name)) this.errorText = t("cats.duplicate", { name });
    else this.list.push(name);
    this.input.value = "";
    this.render();
    this.input.focus();
  }

  async save() {
    if (this.busy) return;
    if (!this.list.length) {
      this.errorText = t("cats.empty");
      this.render();
      return;
    }
    this.busy = true;
    this.render();
    try {
      const saved = await putCategories(this.town, this.list);
      const list = (saved && saved.categories) || this.list;
      this.toast(t("cats.saved"), "success");
      this.onSaved(list);
      this.dialog.close();
    } catch (err) {
      this.errorText = has(`error.${err.code}`) ? t(`error.${err.code}`) : err.message;
    } finally {
      this.busy = false;
      this.render();
    }
  }

  render() {
    this.input.placeholder = t("cats.new_ph");
    const addForm = h(
      "form",
      { class: "cat-add", novalidate: true },
      this.input,
      h("button", { type: "submit", class: "btn", "data-testid": "category-add" }, t("cats.add")),
    );
    addForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.add();
    });
    const save = h(
      "button",
      { type: "button", class: "btn primary", "data-testid": "categories-save", disabled: this.busy },
      t(this.busy ? "request.saving" : "cats.save"),
    );
    save.addEventListener("click", () => this.save());
    this.body.replaceChildren(
      h("p", { class: "muted" }, t("cats.hint")),
      h(
        "ul",
        { class: "cat-list", "data-testid": "categories-list" },
        this.list.map((c) =>
          h(
            "li",
            { "data-category": c },
            h("span", {}, c),
            tr("cat", c) !== c ? h("span", { class: "muted" }, tr("cat", c)) : null,
            h("button", { type: "button", class: "btn quiet", "data-remove": c, "aria-label": t("cats.remove", { name: c }) }, "✕"),
          ),
        ),
      ),
      addForm,
      h("p", { class: "form-error", role: "alert", hidden: !this.errorText }, this.errorText),
      h("div", { class: "form-actions" }, save),
    );
  }
}
