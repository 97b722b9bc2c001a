// The availability switch (开始接听 / 暂离) in the header: it says what a click does, asks
// the hub for the change, and keeps the operator's choice across reconnects. The hub's
// word decides: the desk holds the availability it last confirmed.

import { $ } from "./dom.js";
import { t } from "./i18n.js";

export class AvailabilitySwitch {
  /**
   * @param send     function(msg) → ref or null (not connected)
   * @param current  function() → the availability as the hub last confirmed it
   * @param ringer   Ringer
   * @param presence Presence
   */
  constructor({ send, current, ringer, presence, toast }) {
    this.send = send;
    this.current = current;
    this.ringer = ringer;
    this.presence = presence;
    this.toast = toast;
    this.stayAvailable = false; // the operator's last confirmed choice, kept across reconnects
    $("availability").addEventListener("click", () => {
      this.set(this.current() === "available" ? "away" : "available");
    });
  }

  render() {
    const btn = $("availability");
    const state = this.current();
    btn.dataset.state = state;
    btn.setAttribute("aria-pressed", String(state === "available"));
    // The state shows beside it (presence.js); the switch says what a click does.
    $("avail-label").textContent = t(`avail.action.${state}`);
    btn.title = t(`avail.${state}`);
  }

  set(next) {
    this.ringer.unlock(); // a click now lets the ring tone sound later
    if (next === "away") this.presence.askedAway();
    if (!this.send({ type: "set_availability", state: next })) this.toast(t("error.not_connected"), "error");
    // The UI follows the hub's `availability` reply, not the click.
  }

  /** The hub's `availability`: the operator's choice from now on. */
  confirmed(state) {
    this.stayAvailable = state === "available";
  }

  /** The hub starts every socket away. A console that was available before its socket
   * dropped asks to be available again; a freshly opened one stays away. */
  welcome(msg) {
    if (this.stayAvailable && msg.availability !== "available") {
      this.send({ type: "set_availability", state: "available" });
    }
  }

  /** Signed in or out: no choice to keep yet. */
  forget() {
    this.stayAvailable = false;
  }
}
