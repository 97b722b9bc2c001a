// Review: the call log, the requests and the numbers, wired together. One filter
// state serves the log, the request list and their exports; a call's detail shows its
// request; a request's linked calls open their details; the dashboard's figures open
// the lists they count.

import * as api from "./api.js";
import { CallLog } from "./calllog.js";
import { CategoryEditor } from "./categories.js";
import { Dashboard } from "./dashboard.js";
import { isoDay, setTownOffset } from "./dates.js";
import { $, closeDialogs } from "./dom.js";
import { Directory, FilterBar } from "./filters.js";
import { RequestList } from "./requests.js";
import { callRequestSection, requestIdOf } from "./requestparts.js";
import { canClose, RequestDetail } from "./requestview.js";

export class Review {
  /**
   * @param toast       function(text, kind)
   * @param showTab     function(name) brings a tab forward
   * @param onCategories function(list) when the town's categories are known or change
   * @param onCallback  function(target) calls a kiosk back from a call or a request
   */
  constructor({ toast, showTab, onCategories, onCallback }) {
    this.operator = null;
    this.categories = [];
    this.onCategories = onCategories;
    this.showTab = showTab;
    this.directory = new Directory();
    this.filters = new FilterBar({
      directory: this.directory,
      onChange: (mode) => (mode === "log" ? this.log.refresh() : this.requests.refresh()),
    });

    this.log = new CallLog({
      table: $("calls-table"),
      tbody: $("calls-body"),
      moreBtn: $("log-more"),
      refreshBtn: $("log-refresh"),
      note: $("log-note"),
      dialog: $("detail-dialog"),
      toast,
      params: () => this.filters.params("log"),
      onPage: (items) => this.directory.learn(items),
      onRender: () => {
        const link = $("export-calls-csv");
        link.href = api.exportUrl("calls_csv", this.filters.params("log"));
        link.download = `yijian-calls-${isoDay(new Date())}.csv`;
      },
      requestOf: {
        fetch: async (call) => {
          const id = requestIdOf(call);
          return id ? api.getRequest(id).catch(() => null) : null;
        },
        render: (call, data) => callRequestSection(data, (id) => this.openRequest(id)),
      },
      onCallback,
    });

    this.requests = new RequestList({
      view: $("requests-view"),
      filters: this.filters,
      directory: this.directory,
      onOpen: (id) => this.openRequest(id),
    });

    this.detail = new RequestDetail({
      dialog: $("request-dialog"),
      toast,
      openCall: (id) => this.log.openDetail(id),
      onChanged: (item) => {
        this.requests.updated(item);
        this.log.refresh();
      },
      role: () => (this.operator ? this.operator.role : "operator"),
      categories: () => this.categories,
      onCallback,
      onDeleted: () => {
        this.requests.refresh();
        this.log.refresh();
      },
    });

    this.categoryEditor = new CategoryEditor({
      dialog: $("categories-dialog"),
      toast,
      onSaved: (list) => this.setCategories(list),
    });
    $("categories-edit").addEventListener("click", () => {
      if (this.operator) this.categoryEditor.open(this.operator.town_id, this.categories);
    });

    this.dashboard = new Dashboard({
      view: $("dashboard-view"),
      directory: this.directory,
      onDrill: (drill) => this.drill(drill),
    });
  }

  /** A request; from a call's detail the call steps aside (it is one click away). */
  openRequest(id) {
    const callDialog = $("detail-dialog");
    if (callDialog.open) {
      callDialog.close();
      // The request under it is this one: closing the call shows it again.
      if ($("request-dialog").open && this.detail.item && this.detail.item.id === id) return;
    }
    this.detail.open(id);
  }

  /** A dashboard figure opens the list it counts, for the same days. */
  drill({ tab, status, overdue, from, to }) {
    const st = this.filters.state;
    this.filters.state = { ...st, from, to, overdue: Boolean(overdue), status: { ...st.status, [tab]: status || "" } };
    this.showTab(tab);
    this.shown(tab);
  }

  /** A tab came forward: put the filters there and load it. */
  shown(tab) {
    if (tab === "log") {
      this.filters.attach("log", $("log-view").querySelector(".filters-slot"));
      this.log.refresh();
    } else if (tab === "requests") {
      this.requests.attachFilters();
      this.requests.refresh();
    } else if (tab === "dashboard") {
      this.dashboard.load();
    }
  }

  setCategories(list) {
    this.categories = Array.isArray(list) ? list : [];
    this.filters.setCategories(this.categories);
    this.onCategories(this.categories);
  }

  async signedIn(info, config) {
    this.operator = info;
    setTownOffset((config && config.utc_offset_h) ?? info.utc_offset_h ?? null);
    this.filters.setAdmin(info.role === "admin");
    this.dashboard.setOperator(info);
    $("categories-edit").hidden = !canClose(info.role);
    this.log.refresh();
    try {
      this.setCategories((await api.getCategories(info.town_id)).categories);
    } catch (err) {
      // A hub without per-town lists: the defaults from /api/config serve.
      if (config && config.categories) this.setCategories(config.categories);
      if (err.status !== 404) console.warn("yijian: categories", err);
    }
  }

  signedOut() {
    closeDialogs();
    this.operator = null;
    this.filters.reset();
    this.directory.clear();
    this.log.clear();
    this.requests.clear();
    this.dashboard.setOperator(null);
  }

  /** The language changed. */
  render() {
    this.log.render();
    this.filters.render();
    this.requests.render();
    this.detail.relabel();
    this.dashboard.render();
    if ($("categories-dialog").open) this.categoryEditor.render();
  }
}
