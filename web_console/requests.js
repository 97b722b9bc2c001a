// The 诉求 (requests) tab: every tracked request, newest first, narrowed by the shared
// filter bar and paged with "load more". Open call-backs (missed calls someone must
// return) are pinned on top while no filter is set. Overdue requests carry a red
// 已超期 tag. A click opens the request (requestview.js); the export links take the
// same filters.

import { exportUrl, listRequests } from "./api.js";
import { $, find, h } from "./dom.js";
import { dateOf, dayTime, isoDay } from "./dates.js";
import { t, tr } from "./i18n.js";
import { PagedView, Pager } from "./pager.js";
import { callbackTag, overdueTag, requestStatusChip, satisfactionChip } from "./requestparts.js";

const PAGE_SIZE = 50;
const PINNED_MAX = 50;

export class RequestList extends PagedView {
  /**
   * @param filters    FilterBar (shared with the call log)
   * @param directory  Directory that learns kiosks, villages and people from each page
   * @param onOpen     function(id) opens a request
   */
  constructor({ view, filters, directory, onOpen }) {
    super();
    this.view = view;
    this.slot = find(view, ".filters-slot");
    this.tbody = $("requests-body");
    this.note = $("requests-note");
    this.moreBtn = $("requests-more");
    this.csvLink = $("export-requests-csv");
    this.open311Link = $("export-open311");
    this.filters = filters;
    this.directory = directory;
    this.onOpen = onOpen;
    this.pinned = []; // open call-backs, shown first
    this.pager = new Pager({
      fetch: ({ cursor }) => listRequests({ ...filters.params("requests"), limit: PAGE_SIZE, cursor }),
      onItems: (items) => directory.learn(items),
      note: this.note,
      moreBtn: this.moreBtn,
      failed: "rq.failed",
      empty: () => (filters.active("requests") ? "rq.empty_filtered" : "rq.empty"),
    });
    $("requests-refresh").addEventListener("click", () => this.refresh());
    this.moreBtn.addEventListener("click", () => this.loadMore());
    const openRow = (row) => row && this.onOpen(row.dataset.requestId);
    this.tbody.addEventListener("click", (ev) => openRow(ev.target.closest("tr[data-request-id]")));
    this.tbody.addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter" && ev.key !== " ") return;
      const row = ev.target.closest("tr[data-request-id]");
      if (row) {
        ev.preventDefault();
        openRow(row);
      }
    });
  }

  /** Show the shared filter bar here, with the request fields. */
  attachFilters() {
    this.filters.attach("requests", this.slot);
  }

  async refresh() {
    this.pinned = await this.openCallbacks();
    await super.refresh();
  }

  /** The town's open call-backs, oldest waiting first; none while a filter is set. */
  async openCallbacks() {
    if (this.filters.active("requests")) return [];
    try {
      const page = await listRequests({ kind: "callback", status: "open", limit: PINNED_MAX });
      return (page.items || []).reverse();
    } catch {
      return []; // the list below still shows them, in date order
    }
  }

  /** Replace one request in place after an edit, without losing the page. */
  updated(item) {
    const i = this.items.findIndex((r) => r.id === item.id);
    if (i >= 0) this.items[i] = { ...this.items[i], ...item };
    const p = this.pinned.findIndex((r) => r.id === item.id);
    if (p >= 0) this.pinned[p] = { ...this.pinned[p], ...item };
    if (i >= 0 || p >= 0) this.render();
  }

  renderExports() {
    const params = this.filters.params("requests");
    const day = isoDay(new Date());
    this.csvLink.href = exportUrl("requests_csv", params);
    this.csvLink.download = `yijian-requests-${day}.csv`;
    this.open311Link.href = exportUrl("open311", params);
    this.open311Link.download = `yijian-open311-${day}.json`;
  }

  render() {
    const pinned = new Set(this.pinned.map((r) => r.id));
    this.tbody.replaceChildren(
      ...this.pinned.map((r) => this.row(r, true)),
      ...this.items.filter((r) => !pinned.has(r.id)).map((r) => this.row(r, false)),
    );
    this.renderNote();
    this.renderExports();
  }

  row(r, pinned) {
    const none = t("detail.none");
    const place = [r.village, r.kiosk_name || r.kiosk_id].filter(Boolean);
    const summary = r.summary
      ? h("div", { class: "summary" }, r.summary)
      : h("div", { class: "summary muted" }, t(r.kind === "callback" ? "rq.no_summary_callback" : "rq.no_summary"));
    return h(
      "tr",
      {
        "data-testid": "request-row",
        "data-request-id": r.id,
        "data-status": r.status,
        "data-overdue": r.overdue ? "true" : "false",
        "data-pinned": pinned ? "true" : "false",
        class: `request-row${r.overdue ? " overdue" : ""}${pinned ? " pinned" : ""}`,
        tabindex: 0,
      },
      h("td", { class: "nowrap number" }, r.number || r.id),
      h("td", { class: "nowrap" }, dayTime(r.created_at)),
      h("td", {}, h("div", { class: "nowrap" }, place[0] || none), place[1] ? h("div", { class: "muted small nowrap" }, place[1]) : null),
      h("td", { class: "cat-cell" }, r.category ? h("span", { class: "chip cat" }, tr("cat", r.category)) : none),
      h("td", { class: "request-cell" }, r.kind === "callback" ? callbackTag() : null, summary),
      h("td", {}, requestStatusChip(r.status)),
      h("td", { class: "nowrap" }, r.assignee || none),
      h("td", { class: "due-cell" }, h("div", { class: "nowrap" }, r.due_at ? dateOf(r.due_at) : none), r.overdue ? overdueTag() : null),
      h("td", {}, satisfactionChip(r.satisfaction)),
    );
  }
}
