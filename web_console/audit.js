// 审计日志 (the audit log), a tab for supervisors and admins: who did what, when and
// from where (GET /api/audit), newest first, paged with the API's cursor, filtered by
// action and by who did it. A supervisor reads their own town's log; an admin picks a
// town, or the admins' own log (logins of admins, exports across every town).

import { api, query } from "./api.js";
import { $, h } from "./dom.js";
import { dateTime } from "./format.js";
import { t, tr } from "./i18n.js";
import { PagedView, Pager } from "./pager.js";
import { canWatch } from "./team.js";

const PAGE_SIZE = 50;
const ADMIN_LOG = "@admin"; // the town picker's value for the admins' own log

// The hub's actions (server/accounts/audit.py ACTIONS), in the filter's order.
export const ACTIONS = [
  "login", "login_failed", "logout",
  "call_answered", "call_viewed", "request_viewed",
  "request_changed", "request_anonymised", "request_deleted",
  "export", "settings_changed", "categories_changed", "town_added",
  "operator_added", "operator_disabled", "operator_enabled", "operator_password_reset",
  "operator_role_changed", "operator_moved",
  "kiosk_added", "kiosk_rotated", "kiosk_revoked",
];

/** A few details in words: what changed, to what, why (never a secret: the hub keeps none). */
function detailText(e) {
  const d = e.details || {};
  const parts = [];
  if (d.fields) parts.push(t("audit.d.fields", { fields: d.fields.join(", ") }));
  if (d.settings) parts.push(Object.entries(d.settings).map(([k, v]) => `${k} = ${v}`).join(", "));
  if (d.categories) parts.push(d.categories.join(", "));
  if (d.role) parts.push(tr("staff.role", d.role));
  if (d.from !== undefined && d.to !== undefined) parts.push(`${d.from} → ${d.to}`);
  if (d.reason) parts.push(t("audit.d.reason", { reason: d.reason }));
  if (d.filters && Object.keys(d.filters).length) {
    parts.push(Object.entries(d.filters).map(([k, v]) => `${k}=${v}`).join(" "));
  }
  return parts.join(" · ");
}

export class AuditPanel extends PagedView {
  /** @param tab the tab's button, hidden from plain operators */
  constructor({ tab }) {
    super();
    this.tab = tab;
    this.body = $("audit-body");
    this.townSelect = $("audit-town");
    this.actionSelect = $("audit-action");
    this.actorInput = $("audit-actor");
    this.operator = null;
    this.town = "";
    this.towns = [];
    this.pager = new Pager({
      fetch: ({ cursor }) => api("GET", `/api/audit${query({ ...this.params(), limit: PAGE_SIZE, cursor })}`),
      note: $("audit-note"),
      moreBtn: $("audit-more"),
      failed: "audit.failed",
      empty: () => "audit.empty",
    });
    $("audit-refresh").addEventListener("click", () => this.refresh());
    $("audit-more").addEventListener("click", () => this.loadMore());
    this.townSelect.addEventListener("change", () => {
      this.town = this.townSelect.value;
      this.refresh();
    });
    this.actionSelect.addEventListener("change", () => this.refresh());
    this.actorInput.addEventListener("change", () => this.refresh());
  }

  get allowed() {
    return Boolean(this.operator && canWatch(this.operator.role));
  }

  get admin() {
    return Boolean(this.operator && this.operator.role === "admin");
  }

  params() {
    const picked = this.admin && this.town === ADMIN_LOG ? { scope: "admin" } : { town: this.admin ? this.town : "" };
    return { ...picked, action: this.actionSelect.value, actor: this.actorInput.value.trim() };
  }

  setOperator(info) {
    this.operator = info;
    this.town = info ? info.town_id : "";
    this.towns = [];
    this.tab.hidden = !this.allowed;
    this.pager.clear();
    this.render();
  }

  /** The tab came forward: read the newest entries (and, for an admin, the towns). */
  async setVisible(visible) {
    if (!visible || !this.allowed) return;
    if (this.admin && !this.towns.length) {
      try {
        this.towns = (await api("GET", "/api/towns")).items;
      } catch (err) {
        console.warn("yijian: /api/towns failed", err);
      }
    }
    await this.refresh();
  }

  row(e) {
    const who = e.role ? `${e.actor} (${tr("staff.role", e.role)})` : e.actor;
    return h(
      "tr",
      { "data-testid": "audit-row", "data-action": e.action, "data-actor": e.actor, "data-target": e.target },
      h("td", { class: "nowrap" }, dateTime(e.at)),
      h("td", { "data-testid": "audit-actor" }, who),
      h("td", { class: "nowrap muted" }, e.address || t("detail.none")),
      h("td", { "data-testid": "audit-action" }, tr("audit.action", e.action)),
      h("td", { class: "nowrap" }, e.target || t("detail.none")),
      h("td", { class: "muted small" }, detailText(e)),
    );
  }

  renderFilters() {
    const chosen = this.actionSelect.value;
    this.actionSelect.replaceChildren(
      h("option", { value: "" }, t("audit.all_actions")),
      ...ACTIONS.map((a) => h("option", { value: a }, tr("audit.action", a))),
    );
    this.actionSelect.value = chosen;
    this.townSelect.hidden = !this.admin;
    if (!this.admin) return;
    const own = this.towns.some((tn) => tn.id === this.operator.town_id) ? [] : [{ id: this.operator.town_id, name: "" }];
    const towns = [...own, ...this.towns].map((tn) => h("option", { value: tn.id }, tn.name ? `${tn.name} (${tn.id})` : tn.id));
    this.townSelect.replaceChildren(...towns, h("option", { value: ADMIN_LOG }, t("audit.admin_log")));
    this.townSelect.value = this.town;
  }

  render() {
    this.renderFilters();
    this.body.replaceChildren(...this.items.map((e) => this.row(e)));
    this.renderNote();
  }
}
