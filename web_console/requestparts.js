// Small views of a tracked request, shared by the request list, the request dialog
// and a call's detail: its status, overdue and callback tags, the villager's rating,
// its history as a timeline, and the request section of a call's detail.

import { h } from "./dom.js";
import { dateOf } from "./dates.js";
import { dateTime } from "./format.js";
import { t, tr } from "./i18n.js";

export const requestStatusChip = (status) =>
  h("span", { class: `chip req-${status}`, "data-status": status }, tr("req", status));

export const overdueTag = () =>
  h("span", { class: "tag overdue", "data-testid": "overdue-tag" }, t("rq.overdue"));

export const callbackTag = () =>
  h("span", { class: "tag callback", "data-testid": "callback-tag" }, t("rq.kind.callback"));

export function satisfactionChip(value) {
  const v = value || "none";
  return h("span", { class: `chip sat-${v}`, "data-satisfaction": v }, t(`sat.${v}`));
}

/** One line of a request's history: what changed, by whom, when. */
export function historyItem(ev) {
  let text;
  switch (ev.type) {
    case "status_changed":
      text = t("hist.status_changed", { from: tr("req", ev.from) || t("detail.none"), to: tr("req", ev.to) });
      break;
    case "assigned": {
      const who = ev.assignee ?? ev.to;
      text = who ? t("hist.assigned", { who }) : t("hist.unassigned");
      break;
    }
    case "category_changed":
      text = ev.from
        ? t("hist.category_changed", { from: tr("cat", ev.from), to: tr("cat", ev.to) })
        : t("hist.category_set", { to: tr("cat", ev.to) });
      break;
    case "summary_changed":
      text = t(ev.from ? "hist.summary_changed" : "hist.summary_written");
      break;
    case "due_changed":
      text = ev.to ? t("hist.due_changed", { date: dateOf(ev.to) }) : t("hist.due_cleared");
      break;
    case "rated":
      text = t("hist.rated", { value: t(`sat.${ev.satisfaction ?? ev.value ?? "none"}`) });
      break;
    default:
      text = tr("hist", ev.type);
  }
  const by = ev.by ? tr("by", String(ev.by).split(":")[0] === "kiosk" ? "kiosk" : ev.by) : "";
  const detail = (ev.type === "note_added" && ev.text) || (ev.type === "summary_changed" && ev.to) || "";
  return h(
    "li",
    { "data-testid": "history-item", "data-type": ev.type },
    h("div", {}, h("span", { class: "event-name" }, text), by ? h("span", { class: "event-extra" }, ` · ${by}`) : null),
    h("time", { datetime: ev.at || "" }, dateTime(ev.at)),
    detail ? h("div", { class: "event-detail" }, detail) : null,
  );
}

export const historyList = (history, testid = "request-history") =>
  h("ol", { class: "timeline history", "data-testid": testid }, (history || []).map(historyItem));

/** The request a call belongs to, as the call names it (null when it names none). */
export function requestIdOf(call) {
  return call.request_id || (call.request && call.request.id) || null;
}

/** For the call's detail: its request, with the request's history and a way to open it. */
export function callRequestSection(data, openRequest) {
  const open = h(
    "button",
    { type: "button", class: "btn", "data-testid": "call-open-request" },
    t("rq.open"),
  );
  open.addEventListener("click", () => openRequest(data.id));
  return h(
    "section",
    { class: "call-request", "data-testid": "call-request", "data-request-id": data.id },
    h(
      "div",
      { class: "detail-head" },
      h("h4", {}, t("rq.of_call", { number: data.number || data.id })),
      requestStatusChip(data.status),
      data.overdue ? overdueTag() : null,
      open,
    ),
    data.summary ? h("p", { class: "call-request-summary" }, data.summary) : null,
    h("h4", {}, t("rq.history")),
    historyList(data.history, "call-request-history"),
  );
}
