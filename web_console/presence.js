// The operator's one presence, the same in every tab: the state beside the
// availability switch, the wrap-up countdown, and the notice when the hub set them
// away for missed rings. The hub sends `presence` whenever the state changes, except to
// `ringing`: a `ring` says that itself.

import { $ } from "./dom.js";
import { clock, parseTime, serverNow } from "./format.js";
import { t } from "./i18n.js";

// A switch to away that this tab asked for within this long is the operator's own.
const OWN_CHOICE_MS = 5000;

export class Presence {
  /**
   * @param onResume function() the operator wants calls again (after the auto-away notice)
   * @param onChange function() the state shown changed without a word from the hub
   */
  constructor({ onResume, onChange }) {
    this.onChange = onChange;
    this.current = null; // the hub's last `presence`: {state, availability, missed, wrap_until}
    this.wrapUntil = 0; // ms on the hub's clock
    this.autoAway = 0; // missed rings that set the operator away, while the notice shows
    this.maxMissed = 1; // the town's max_missed_rings, when known
    this.askedAwayAt = 0;
    $("auto-away-resume").addEventListener("click", () => onResume());
    $("auto-away-dismiss").addEventListener("click", () => {
      this.autoAway = 0;
      this.render();
    });
  }

  /** The state to show: the hub's word, except that a wrap-up ends on time even when
   * the hub only says so with the next change. */
  get state() {
    if (!this.current) return null;
    if (this.current.state === "wrap_up" && this.wrapUntil <= serverNow()) return this.current.availability;
    return this.current.state;
  }

  get wrapping() {
    return this.state === "wrap_up" && this.wrapUntil > serverNow();
  }

  setMaxMissed(n) {
    if (Number.isInteger(n) && n > 0) this.maxMissed = n;
  }

  /** This tab asked the hub for `away`: what follows is no auto-away. */
  askedAway() {
    this.askedAwayAt = Date.now();
  }

  /**
   * The hub's `presence`. `ringingHere` says whether this tab was ringing, in case
   * the hub's word on the ring itself was merged into this one.
   */
  update(msg, ringingHere) {
    const prev = this.current;
    this.current = {
      state: msg.state,
      availability: msg.availability,
      missed: Number(msg.missed) || 0,
      wrap_until: msg.wrap_until || null,
    };
    this.wrapUntil = parseTime(msg.wrap_until) ?? 0;
    if (msg.availability === "available") {
      this.autoAway = 0;
    } else if (
      prev &&
      prev.availability === "available" &&
      msg.availability === "away" &&
      (prev.state === "ringing" || ringingHere) &&
      this.current.missed >= this.maxMissed &&
      Date.now() - this.askedAwayAt > OWN_CHOICE_MS
    ) {
      this.autoAway = this.current.missed;
    }
    this.render();
  }

  /** A `ring`: the hub's word that the operator rings now (it sends no `presence` with it). */
  ringing() {
    const prev = this.current || { availability: "available", missed: 0 };
    this.update({ ...prev, state: "ringing", wrap_until: null }, false);
  }

  /** A fresh socket: the hub tells the state again; nothing before it counts as a ring. */
  reset() {
    this.current = null;
    this.wrapUntil = 0;
    this.render();
  }

  /** Signed out. */
  clear() {
    this.reset();
    this.autoAway = 0;
    this.render();
  }

  wrapLeft() {
    return clock(Math.ceil(Math.max(0, this.wrapUntil - serverNow()) / 1000));
  }

  /** Once a second: the wrap-up countdown. */
  tick() {
    const chip = $("presence");
    if (this.state !== chip.dataset.state && this.state && !chip.hidden) {
      this.render(); // the wrap-up ran out
      this.onChange();
      return;
    }
    if (this.state !== "wrap_up") return;
    $("presence-label").textContent = t("presence.wrap_left", { time: this.wrapLeft() });
    $("wrap-up-text").textContent = t("presence.wrap_note", { time: this.wrapLeft() });
  }

  render() {
    const state = this.state;
    const chip = $("presence");
    chip.hidden = !state;
    if (state) {
      chip.dataset.state = state;
      $("presence-label").textContent = t(`presence.${state}`);
    }
    $("wrap-up").hidden = state !== "wrap_up";
    const notice = $("auto-away");
    notice.hidden = !this.autoAway;
    notice.dataset.missed = String(this.autoAway || "");
    $("auto-away-text").textContent = t("presence.auto_away", { n: this.autoAway });
    this.tick();
  }
}
