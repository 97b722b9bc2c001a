// The call log tab: a table of calls, newest first, with "load more" and a
// detail dialog showing each call's event timeline.

import { getCall, listCalls } from "./api.js";
import { h } from "./dom.js";
import { between, clock, dateTime, since, timeOfDay } from "./format.js";
import { t, tr } from "./i18n.js";
import { PagedView, Pager } from "./pager.js";

const PAGE_SIZE = 50;
const LIVE = new Set(["queued", "connected"]);

/** The 回电 button: `onCallback(target)` rings the kiosk of `target` back. */
export function callbackButton(onCallback, target) {
  const btn = h(
    "button",
    { type: "button", class: "btn callback-btn", "data-testid": "callback-call", title: t("callback.hint") },
    t("callback.button"),
  );
  btn.addEventListener("click", () => onCallback(target));
  return btn;
}

export function statusChip(status) {
  return h("span", { class: `chip status-${status}` }, tr("status", status));
}

export function requestChip(status) {
  return h("span", { class: `chip req-${status}` }, tr("req", status));
}

function waitSeconds(c) {
  if (typeof c.wait_s === "number") return c.wait_s;
  const w = between(c.created_at, c.answered_at) ?? between(c.created_at, c.ended_at);
  if (w !== null) return w;
  return c.status === "queued" ? since(c.created_at) : null;
}

function talkSeconds(c) {
  if (typeof c.talk_s === "number") return c.talk_s;
  const d = between(c.answered_at, c.ended_at);
  if (d !== null) return d;
  return c.status === "connected" && c.answered_at ? since(c.answered_at) : null;
}

const dash = () => t("detail.none");
const dur = (s) => (s === null ? dash() : clock(s));

export class CallLog extends PagedView {
  /**
   * Optional, for the review work: `params()` gives the filters of the list,
   * `onPage(items)` sees each page, `onRender()` follows each render, and
   * `requestOf` = {fetch(call), render(call, data)} adds the call's request to its detail;
   * `onCallback(target)` adds a 回电 button to a past call's detail.
   */
  constructor({ table, tbody, moreBtn, refreshBtn, note, dialog, toast, params, onPage, onRender, requestOf, onCallback }) {
    super();
    this.table = table;
    this.tbody = tbody;
    this.moreBtn = moreBtn;
    this.note = note;
    this.dialog = dialog;
    this.toast = toast;
    this.detail = null; // the call shown in the dialog
    this.detailRequest = null; // what requestOf.fetch gave for it
    this.params = params || (() => ({}));
    this.onPage = onPage || (() => {});
    this.onRender = onRender || (() => {});
    this.requestOf = requestOf || null;
    this.onCallback = onCallback || null;
    this.filtered = false;
    this.pager = new Pager({
      fetch: ({ cursor }) => {
        const params = this.params();
        this.filtered = Object.keys(params).length > 0;
        return listCalls({ ...params, limit: PAGE_SIZE, cursor });
      },
      onItems: (items) => this.onPage(items),
      note,
      moreBtn,
      failed: "log.failed",
      empty: () => (this.filtered ? "log.empty_filtered" : "log.empty"),
    });
    refreshBtn.addEventListener("click", () => this.refresh());
    moreBtn.addEventListener("click", () => this.loadMore());
    tbody.addEventListener("click", (ev) => {
      const row = ev.target.closest("tr[data-call-id]");
      if (row) this.openDetail(row.dataset.callId);
    });
    tbody.addEventListener("keydown", (ev) => {
      const row = ev.target.closest("tr[data-call-id]");
      if (row && (ev.key === "Enter" || ev.key === " ")) {
        ev.preventDefault();
        this.openDetail(row.dataset.callId);
      }
    });
  }

  render() {
    this.tbody.replaceChildren(...this.items.map((c) => this.row(c)));
    this.renderNote();
    if (this.detail && this.dialog.open) this.renderDetail(this.detail);
    this.onRender();
  }

  row(c) {
    const req = c.request;
    const live = LIVE.has(c.status);
    return h(
      "tr",
      { "data-testid": "call-row", "data-call-id": c.id, tabindex: 0, class: "call-row" },
      h("td", { class: "nowrap" }, dateTime(c.created_at)),
      h("td", { class: "nowrap" }, c.kiosk_name || c.kiosk_id),
      h("td", { class: "nowrap" }, c.village || ""),
      h("td", {}, statusChip(c.status)),
      h("td", { class: "num", "data-live": live ? "wait" : null }, dur(waitSeconds(c))),
      h("td", { class: "num", "data-live": live ? "talk" : null }, dur(talkSeconds(c))),
      h("td", { class: "nowrap" }, c.operator || dash()),
      h(
        "td",
        { class: "request-cell" },
        req
          ? [
              h("div", { class: "summary" }, req.summary || ""),
              h(
                "div",
                { class: "chips" },
                req.category ? h("span", { class: "chip cat" }, tr("cat", req.category)) : null,
                req.status ? requestChip(req.status) : null,
              ),
            ]
          : c.request_number // a missed call's request, to call the villager back
            ? h("span", { class: "tag callback" }, t("rq.kind.callback"), " ", c.request_number)
            : dash(),
      ),
    );
  }

  async openDetail(id) {
    try {
      const call = await getCall(id);
      this.detail = call;
      this.detailRequest = null;
      this.renderDetail(call);
      if (!this.dialog.open) this.dialog.showModal();
      if (this.requestOf) {
        const found = await this.requestOf.fetch(call);
        if (this.detail !== call) return;
        this.detailRequest = found;
        this.renderDetail(call);
      }
    } catch (err) {
      this.toast(t("detail.failed", { message: err.message }), "error");
    }
  }

  renderDetail(c) {
    const body = this.dialog.querySelector(".detail-body");
    const req = c.request;
    const fact = (label, value) => [h("dt", {}, label), h("dd", {}, value || dash())];
    const reason = c.end_reason ? tr("reason", c.end_reason) : "";
    body.replaceChildren(
      h(
        "div",
        { class: "detail-head" },
        h("h3", {}, `${c.kiosk_name || c.kiosk_id}${c.village ? ` · ${c.village}` : ""}`),
        statusChip(c.status),
        this.callbackButton(c),
      ),
      h(
        "dl",
        { class: "facts" },
        fact(t("detail.created"), dateTime(c.created_at)),
        fact(t("detail.answered"), dateTime(c.answered_at)),
        fact(t("detail.ended"), dateTime(c.ended_at)),
        fact(t("log.col.wait"), dur(waitSeconds(c))),
        fact(t("log.col.talk"), dur(talkSeconds(c))),
        fact(t("log.col.operator"), c.operator),
        fact(t("detail.end_reason"), reason),
        fact(
          t("log.col.request"),
          req
            ? h(
                "span",
                {},
                req.summary || "",
                " ",
                req.category ? h("span", { class: "chip cat" }, tr("cat", req.category)) : null,
                " ",
                req.status ? requestChip(req.status) : null,
              )
            : "",
        ),
      ),
      h("h4", {}, t("detail.events")),
      h("ol", { class: "timeline", "data-testid": "call-events" }, (c.events || []).map((ev) => this.eventItem(ev))),
      ...(this.requestOf && this.detailRequest ? [this.requestOf.render(c, this.detailRequest)] : []),
    );
  }

  /** 回电: call the kiosk of a past call back, linked to the call's request. */
  callbackButton(c) {
    if (!this.onCallback || !c.kiosk_id || LIVE.has(c.status)) return null;
    return callbackButton(this.onCallback, {
      kiosk_id: c.kiosk_id,
      kiosk_name: c.kiosk_name,
      village: c.village,
      call_id: c.id,
      request_id: c.request_id || null,
      request_number: c.request_number || "",
    });
  }

  eventItem(ev) {
    const extras = [];
    const callback = ev.type === "created" && ev.kind === "callback";
    for (const [k, v] of Object.entries(ev)) {
      if (k === "type" || k === "at" || v === null || v === "" || typeof v === "object") continue;
      if (k === "kind") continue; // a callback's creation has its own name
      if (k === "reason") extras.push(tr("reason", v));
      else if (k === "missed") extras.push(t("event.missed", { n: v }));
      else if (k === "town") extras.push(t("event.town", { town: v }));
      else if (k === "status") extras.push(tr(ev.type === "request_saved" ? "req" : "status", v));
      else if (k === "by") extras.push(tr("by", String(v).split(":")[0] === "kiosk" ? "kiosk" : v));
      else extras.push(String(v));
    }
    return h(
      "li",
      { "data-event": ev.type },
      h("time", { datetime: ev.at || "" }, timeOfDay(ev.at)),
      h("span", { class: "event-name" }, callback ? t("event.created_callback") : tr("event", ev.type)),
      extras.length ? h("span", { class: "event-extra" }, extras.join(" · ")) : null,
    );
  }

  /** Once a second: live calls' durations count on, in place (a re-render would eat clicks). */
  tick() {
    for (const cell of this.tbody.querySelectorAll("td[data-live]")) {
      const c = this.items.find((item) => item.id === cell.parentElement.dataset.callId);
      if (c) cell.textContent = dur(cell.dataset.live === "wait" ? waitSeconds(c) : talkSeconds(c));
    }
  }
}
