// A call-back on the desk (desk.js): the operator rings a kiosk (回电), linked to a
// request or a past call. Asked for, then ringing the kiosk, until the kiosk answers
// (an ordinary call from there on), declines or does not answer, or the operator
// cancels.

import { $ } from "./dom.js";
import { clock, parseTime, serverNow } from "./format.js";
import { t } from "./i18n.js";

const GONE = ["call_ended", "call_not_found"];

export class CallBack {
  /**
   * @param send   function(msg) → ref or null (not connected)
   * @param outbox Outbox: the cancel (a hang-up) goes until the hub confirms it
   * @param ringer Ringer
   */
  constructor({ send, outbox, ringer, toast }) {
    this.send = send;
    this.outbox = outbox;
    this.ringer = ringer;
    this.toast = toast;
    // {ref, target} until the hub says the kiosk rings, then also `call` (a CallView)
    // until it answers or the call ends. `target` is what was called back:
    // {kiosk_id, kiosk_name, village, request_id?, call_id?, request_number?}.
    this.current = null;
    this.cancelling = false;
  }

  /** Ask the hub to ring the kiosk. False when it can't start. */
  start(target) {
    const msg = { type: "callback", kiosk_id: target.kiosk_id };
    if (target.request_id) msg.request_id = target.request_id;
    if (target.call_id) msg.call_id = target.call_id;
    const ref = this.send(msg);
    if (!ref) {
      this.toast(t("error.not_connected"), "error");
      return false;
    }
    this.ringer.unlock();
    this.current = { ref, target, call: null, since: serverNow() };
    this.cancelling = false;
    return true;
  }

  /** Hang up while it rings. False when there is nothing to cancel now. */
  cancel() {
    const cb = this.current;
    if (!cb || !cb.call || this.cancelling) return false;
    this.outbox.post({ type: "hangup", call_id: cb.call.id }); // goes once the socket is back
    this.cancelling = true;
    return true;
  }

  /** The hub says the kiosk rings for our call-back. */
  ringing(call) {
    const cb = this.current;
    const target = cb ? cb.target : { kiosk_id: call.kiosk_id };
    this.current = { ref: null, target, call, since: parseTime(call.created_at) ?? serverNow() };
  }

  /** A call answered: when it is our call-back, the call as the desk shows it (for the
   * same request) and the call-back is over; otherwise null. */
  answered(call) {
    const cb = this.current;
    if (!cb || (cb.call && cb.call.id !== call.id)) return null;
    this.current = null;
    return { ...call, callback_of: cb.target.request_number || "" };
  }

  /** The hub's error for one of our messages: true when it refused the call-back itself
   * (kiosk offline, busy...; the toast says why). */
  refused({ code, ref }) {
    const cb = this.current;
    if (cb && cb.ref && cb.ref === ref) {
      this.current = null;
      return true;
    }
    if (cb && cb.call && this.cancelling && GONE.includes(code)) {
      this.current = null; // it ended as we cancelled it
      this.cancelling = false;
    }
    return false;
  }

  /** A call ended: when it is our call-back, {cancelled} (whether we cancelled it);
   * otherwise null. */
  ended(callId, reason) {
    const cb = this.current;
    if (!cb || !cb.call || cb.call.id !== callId) return null;
    const cancelled = this.cancelling && reason === "operator_hangup";
    this.current = null;
    this.cancelling = false;
    return { cancelled };
  }

  /** A (re)connect without our call-back's call live: it ended while we were away from
   * the hub; the call log has how. */
  welcome(call) {
    const cb = this.current;
    if (cb && cb.call && (!call || call.id !== cb.call.id)) this.current = null;
  }

  /** Once a second: how long it has rung. */
  tick() {
    const cb = this.current;
    if (cb) {
      $("callback-elapsed").textContent = cb.call
        ? t("callback.elapsed", { time: clock((serverNow() - cb.since) / 1000) })
        : "";
    }
  }
}
