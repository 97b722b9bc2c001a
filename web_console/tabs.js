// The tabs: which of the six views shows, and the tab buttons that switch them.

import { $ } from "./dom.js";

export const VIEWS = {
  desk: "desk-view",
  log: "log-view",
  requests: "requests-view",
  dashboard: "dashboard-view",
  fleet: "fleet-view",
  audit: "audit-view",
};

export class Tabs {
  /**
   * @param onShow  function(name) after a view comes forward, by a click or not
   * @param onClick function(name) after a click on a tab brought its view forward
   */
  constructor({ onShow, onClick }) {
    this.current = "desk";
    this.onShow = onShow;
    for (const btn of document.querySelectorAll(".tab")) {
      btn.addEventListener("click", () => {
        this.show(btn.dataset.tab);
        onClick(btn.dataset.tab);
      });
    }
  }

  show(name) {
    this.current = name;
    for (const [key, id] of Object.entries(VIEWS)) $(id).hidden = key !== name;
    for (const btn of document.querySelectorAll(".tab")) {
      btn.setAttribute("aria-selected", String(btn.dataset.tab === name));
      btn.classList.toggle("active", btn.dataset.tab === name);
    }
    this.onShow(name);
  }
}
