// A list read page by page with the API's cursor (the call log, the requests list).
// Only the newest load counts (a filter changed meanwhile: the older answer is
// dropped); a further page adds the items not shown yet; the list's note says
// loading, failed or empty, and its "more" button shows while there is a cursor.
import { t } from "./i18n.js";

export class Pager {
  /**
   * @param fetch    function({cursor}) -> Promise<{items, next_cursor}>
   * @param onItems  function(items) for each page that arrives (e.g. learn names)
   * @param note     the list's note element; moreBtn: its "load more" button
   * @param failed   i18n key of the failure message; empty: function() -> i18n key
   */
  constructor({ fetch, onItems = () => {}, note, moreBtn, failed, empty }) {
    Object.assign(this, { fetch, onItems, note, moreBtn, failed, empty });
    this.items = [];
    this.cursor = null;
    this.seq = 0;
    this.loading = false;
    this.error = null;
    this.loaded = false;
  }

  clear() {
    this.seq++;
    this.items = [];
    this.cursor = null;
    this.loaded = false;
  }

  /** Load the first page (cursor null) or the next; false when a newer load took over. */
  async load(cursor) {
    const seq = ++this.seq;
    this.loading = true;
    this.renderNote();
    try {
      const page = await this.fetch({ cursor });
      if (seq !== this.seq) return false;
      const items = page.items || [];
      this.onItems(items);
      const seen = new Set(cursor ? this.items.map((item) => item.id) : []);
      this.items = (cursor ? this.items : []).concat(items.filter((item) => !seen.has(item.id)));
      this.cursor = page.next_cursor || null;
      this.error = null;
      this.loaded = true;
    } catch (err) {
      if (seq !== this.seq) return false;
      this.error = err;
    } finally {
      if (seq === this.seq) this.loading = false;
    }
    return true;
  }

  renderNote() {
    let text = "";
    if (this.loading) text = t("log.loading");
    else if (this.error) text = t(this.failed, { message: this.error.message });
    else if (this.items.length === 0 && this.loaded) text = t(this.empty());
    this.note.textContent = text;
    this.note.hidden = text === "";
    this.note.classList.toggle("error", Boolean(this.error) && !this.loading);
    this.moreBtn.hidden = !this.cursor;
    this.moreBtn.disabled = this.loading;
  }
}

/** A table shown from a Pager (``this.pager``); the subclass draws it in ``render()``. */
export class PagedView {
  /** What is shown, newest first. */
  get items() {
    return this.pager.items;
  }

  clear() {
    this.pager.clear();
    this.render();
  }

  async refresh() {
    if (await this.pager.load(null)) this.render();
  }

  async loadMore() {
    if (this.pager.cursor && (await this.pager.load(this.pager.cursor))) this.render();
  }

  renderNote() {
    this.pager.renderNote();
  }
}
