// The review filters: one bar and one state, shared by the call log and the request
// list. The bar moves into whichever of the two is showing, so a supervisor who
// narrows the log to a village and a week sees that village's requests of the same
// week on the other tab, and the export links carry exactly what the list shows.

import { h } from "./dom.js";
import { rangeParams } from "./dates.js";
import { t, tr } from "./i18n.js";

export const CALL_STATUSES = ["completed", "abandoned", "unanswered", "failed", "queued", "connected"];
export const REQUEST_STATUSES = ["open", "in_progress", "resolved", "closed"];
const SEARCH_DELAY_MS = 400;

// The fields each list offers, in the order shown.
const FIELDS = {
  log: ["town", "village", "kiosk", "operator", "status", "from", "to", "q"],
  requests: ["town", "village", "kiosk", "status", "category", "from", "to", "q", "overdue"],
};

/** Kiosks, villages, operators and towns the console has seen, for the filters' choices. */
export class Directory {
  constructor() {
    this.kiosks = new Map(); // id -> {name, village}
    this.villages = new Set();
    this.operators = new Set();
    this.towns = new Set();
    this.listeners = new Set();
  }

  learn(items) {
    const before = this.size();
    for (const it of items || []) {
      if (it.kiosk_id && (!this.kiosks.has(it.kiosk_id) || it.kiosk_name)) {
        this.kiosks.set(it.kiosk_id, { name: it.kiosk_name || it.kiosk_id, village: it.village || "" });
      }
      if (it.village) this.villages.add(it.village);
      if (it.operator) this.operators.add(it.operator);
      if (it.assignee) this.operators.add(it.assignee);
      if (it.town_id) this.towns.add(it.town_id);
    }
    if (this.size() !== before) for (const fn of this.listeners) fn();
  }

  size() {
    return this.kiosks.size + this.villages.size + this.operators.size + this.towns.size;
  }

  kioskName(id) {
    return (this.kiosks.get(id) || {}).name || id;
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  clear() {
    this.kiosks.clear();
    this.villages.clear();
    this.operators.clear();
    this.towns.clear();
  }
}

const EMPTY = () => ({
  town: "", village: "", kiosk: "", operator: "", category: "", from: "", to: "", q: "",
  overdue: false, status: { log: "", requests: "" },
});  // fmt: skip

export class FilterBar {
  /** @param onChange function(mode) when the filters of the list showing change */
  constructor({ directory, onChange }) {
    this.directory = directory;
    this.onChange = onChange;
    this.state = EMPTY();
    this.mode = "log";
    this.isAdmin = false;
    this.categories = [];
    this.searchTimer = null;
    this.controls = {};
    this.labels = {};
    this.el = h("form", { class: "filters", "data-testid": "filters", role: "search" });
    this.el.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.commit("q", this.controls.q.value.trim());
    });
    this.build();
    directory.onChange(() => this.fillChoices());
  }

  build() {
    const c = this.controls;
    c.town = h("select", { "data-testid": "filter-town" });
    c.village = h("input", { "data-testid": "filter-village", list: "filter-village-list", autocomplete: "off" });
    this.villageList = h("datalist", { id: "filter-village-list" });
    c.kiosk = h("select", { "data-testid": "filter-kiosk" });
    c.operator = h("input", { "data-testid": "filter-operator", list: "filter-operator-list", autocomplete: "off" });
    this.operatorList = h("datalist", { id: "filter-operator-list" });
    c.status = h("select", { "data-testid": "filter-status" });
    c.category = h("select", { "data-testid": "filter-category" });
    c.from = h("input", { type: "date", "data-testid": "filter-since" });
    c.to = h("input", { type: "date", "data-testid": "filter-until" });
    c.q = h("input", { type: "search", "data-testid": "filter-q", maxlength: 100 });
    c.overdue = h("input", { type: "checkbox", "data-testid": "filter-overdue" });
    this.clearBtn = h("button", { type: "button", class: "btn quiet", "data-testid": "filter-clear" });
    this.clearBtn.addEventListener("click", () => this.clear());

    for (const name of ["town", "kiosk", "category", "from", "to"]) {
      c[name].addEventListener("change", () => this.commit(name, c[name].value));
    }
    for (const name of ["village", "operator"]) {
      c[name].addEventListener("change", () => this.commit(name, c[name].value.trim()));
    }
    c.status.addEventListener("change", () => {
      this.state.status[this.mode] = c.status.value;
      this.changed();
    });
    c.overdue.addEventListener("change", () => this.commit("overdue", c.overdue.checked));
    c.q.addEventListener("input", () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.commit("q", c.q.value.trim()), SEARCH_DELAY_MS);
    });

    this.wraps = {};
    for (const name of Object.keys(c)) {
      this.labels[name] = h("span", { class: "filter-label" });
      const check = name === "overdue";
      this.wraps[name] = h(
        "label",
        { class: `filter filter-${name}${check ? " check" : ""}` },
        check ? [c[name], this.labels[name]] : [this.labels[name], c[name]],
      );
    }
    this.el.append(
      ...Object.values(this.wraps),
      this.villageList,
      this.operatorList,
      h("div", { class: "filter filter-actions" }, this.clearBtn),
    );
  }

  commit(name, value) {
    clearTimeout(this.searchTimer);
    if (this.state[name] === value) return;
    this.state[name] = value;
    if (name === "from" || name === "to") this.controls.to.min = this.state.from || "";
    this.changed();
  }

  changed() {
    this.clearBtn.disabled = !this.active();
    this.onChange(this.mode);
  }

  /** The clear button: everything back to "all", and the list reloads. */
  clear() {
    this.reset();
    this.changed();
  }

  /** Everything back to "all", quietly (signing out). */
  reset() {
    clearTimeout(this.searchTimer);
    this.state = EMPTY();
    this.render();
  }

  /** Show the bar at the top of `container` with the fields of `mode` ("log" or "requests"). */
  attach(mode, container) {
    this.mode = mode;
    if (this.el.parentElement !== container) container.prepend(this.el);
    this.render();
  }

  setAdmin(isAdmin) {
    this.isAdmin = isAdmin;
    this.render();
  }

  setCategories(categories) {
    this.categories = Array.isArray(categories) ? categories : [];
    this.render();
  }

  /** The query parameters of the list showing (without limit and cursor). */
  params(mode = this.mode) {
    const st = this.state;
    const fields = FIELDS[mode];
    const p = {};
    if (fields.includes("town") && this.isAdmin && st.town) p.town = st.town;
    for (const name of ["village", "kiosk", "operator", "category", "q"]) {
      if (fields.includes(name) && st[name]) p[name] = st[name];
    }
    if (st.status[mode]) p.status = st.status[mode];
    if (fields.includes("overdue") && st.overdue) p.overdue = "true";
    const { since, until } = rangeParams(st.from, st.to);
    if (since) p.since = since;
    if (until) p.until = until;
    return p;
  }

  /** Anything narrowed at all? */
  active(mode = this.mode) {
    return Object.keys(this.params(mode)).length > 0;
  }

  fillChoices() {
    const option = (value, label) => h("option", { value }, label);
    // A chosen value stays offered even when nothing seen so far carries it.
    const fill = (name, known, label, allKey) => {
      const current = this.state[name];
      const values = current && !known.includes(current) ? [...known, current] : known;
      this.controls[name].replaceChildren(option("", t(allKey)), ...values.map((v) => option(v, label(v))));
      this.controls[name].value = current;
    };
    const dir = this.directory;
    const byName = (a, b) => dir.kioskName(a).localeCompare(dir.kioskName(b), "zh-CN");
    fill("kiosk", [...dir.kiosks.keys()].sort(byName), (id) => dir.kioskName(id), "filter.all_kiosks");
    fill("town", [...dir.towns].sort(), (v) => v, "filter.all_towns");
    fill("category", [...this.categories], (v) => tr("cat", v), "filter.all_categories");
    const statuses = this.mode === "log" ? CALL_STATUSES : REQUEST_STATUSES;
    const status = this.controls.status;
    status.replaceChildren(
      option("", t("filter.all_statuses")),
      ...statuses.map((v) => option(v, tr(this.mode === "log" ? "status" : "req", v))),
    );
    status.value = this.state.status[this.mode] || "";
    const list = (el, values) => el.replaceChildren(...[...values].sort().map((v) => option(v, v)));
    list(this.villageList, dir.villages);
    list(this.operatorList, dir.operators);
  }

  render() {
    const c = this.controls;
    const shown = FIELDS[this.mode];
    for (const [name, wrap] of Object.entries(this.wraps)) {
      wrap.hidden = !shown.includes(name) || (name === "town" && !this.isAdmin);
      this.labels[name].textContent = t(`filter.${name}`);
    }
    c.village.value = this.state.village;
    c.operator.value = this.state.operator;
    c.from.value = this.state.from;
    c.to.value = this.state.to;
    c.to.min = this.state.from || "";
    c.q.value = this.state.q;
    c.q.placeholder = t(this.mode === "log" ? "filter.q_ph_log" : "filter.q_ph_requests");
    c.village.placeholder = t("filter.any");
    c.operator.placeholder = t("filter.any");
    c.overdue.checked = this.state.overdue;
    this.clearBtn.textContent = t("filter.clear");
    this.clearBtn.disabled = !this.active();
    this.fillChoices();
  }
}
