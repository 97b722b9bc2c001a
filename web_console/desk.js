// The desk: what rings, the call-back ringing a kiosk (deskcallback.js), the call in
// progress and how it ended. Holds the call state; app.js feeds it the hub's messages.
// An answer or a hang-up is kept until the hub confirms it (outbox.js).

import { CallBack } from "./deskcallback.js";
import { $ } from "./dom.js";
import { renderDesk, tickDesk } from "./deskview.js";
import { parseTime, serverNow } from "./format.js";
import { has, t } from "./i18n.js";
import { Outbox } from "./outbox.js";

export class Desk {
  /**
   * @param send function(msg) → ref or null (not connected); media CallMedia; ringer
   *   Ringer; requests RequestForm; presence Presence (the operator's state in every
   *   tab); onCallOver function() after a call ends (refreshes the log)
   */
  constructor({ send, media, ringer, requests, presence, toast, onCallOver }) {
    this.media = media;
    this.ringer = ringer;
    this.requests = requests;
    this.presence = presence;
    this.toast = toast;
    this.onCallOver = onCallOver;
    this.availability = "away";
    this.ringing = null; // CallView ringing this operator
    this.answering = null; // call id we sent `answer` for
    this.call = null; // the live call, a CallView
    this.callStart = 0; // hub-clock ms when it was answered
    this.mediaState = "waiting";
    this.localMissing = null; // null | "camera" | "all"
    this.ended = null; // {call_id, status, reason, callback} of the call that just ended
    this.soundBlocked = false;
    this.outbox = new Outbox({ send }); // answers and hang-ups until the hub confirms them
    this.outCall = new CallBack({ send, outbox: this.outbox, ringer, toast }); // the call-back we ring out

    $("answer-btn").addEventListener("click", () => this.answer());
    $("hangup-btn").addEventListener("click", () => this.hangup());
    $("callback-cancel").addEventListener("click", () => this.cancelCallback());
    $("ended-dismiss").addEventListener("click", () => {
      this.ended = null;
      this.render();
    });
    $("unmute-btn").addEventListener("click", () => {
      this.soundBlocked = false;
      this.media.unmute();
      this.render();
    });
  }

  /** The call-back under way, or null (see deskcallback.js). */
  get callback() {
    return this.outCall.current;
  }

  get inCall() {
    return this.call !== null;
  }

  /** A hang-up of the call is on its way (sent, or being sent again). */
  get hangingUp() {
    return Boolean(this.call) && this.outbox.has("hangup", this.call.id);
  }

  /** The hub could not take our answer or hang-up yet: it goes again by itself. */
  get retrying() {
    if (this.call) return this.outbox.retrying("hangup", this.call.id);
    return Boolean(this.answering) && this.outbox.retrying("answer", this.answering);
  }

  /** In a call or calling a kiosk back: no second call-back now. */
  get busy() {
    return this.call !== null || this.callback !== null;
  }

  // --- operator actions ---------------------------------------------------------

  answer() {
    const call = this.ringing;
    if (!call || this.answering) return;
    this.ringer.unlock();
    if (!this.outbox.post({ type: "answer", call_id: call.id })) {
      this.outbox.confirm("answer", call.id); // the hub rings again once the socket is back
      this.toast(t("error.not_connected"), "error");
      return;
    }
    this.answering = call.id;
    // Ask for the camera now, inside the click, so the browser allows it at once.
    this.media.acquireLocal();
    this.render();
  }

  /** Hang up; the hang-up goes until the hub ends the call, across an outage of its
   * Redis or of the socket, and the desk says so meanwhile. */
  hangup() {
    if (!this.call || this.hangingUp) return;
    this.outbox.post({ type: "hangup", call_id: this.call.id });
    this.render();
  }

  /** Call a kiosk back, linked to a request or a past call. False when it can't start. */
  callBack(target) {
    if (this.busy) {
      this.toast(t("callback.busy"), "error");
      return false;
    }
    if (!this.outCall.start(target)) return false;
    this.ended = null;
    this.render();
    return true;
  }

  cancelCallback() {
    if (this.outCall.cancel()) this.render();
  }

  // --- from the hub -------------------------------------------------------------

  /** The kiosk rings for our call-back. */
  callbackRinging(call) {
    this.outCall.ringing(call);
    this.render();
  }

  setAvailability(state) {
    this.availability = state;
    if (state === "away") this.stopRinging();
    this.render();
  }

  ring(call) {
    if (this.answering !== call.id) this.stopRinging(); // an answer still going keeps going
    this.ringing = call;
    this.ended = null; // that notice was about an earlier call
    this.ringer.start();
    this.render();
  }

  ringStop({ call_id: callId, reason }) {
    if (!this.ringing || this.ringing.id !== callId) return;
    const wasAnswering = this.answering === callId;
    this.stopRinging();
    // "answered" is this operator's answer; not from this tab, it was another of theirs.
    if (reason === "taken") this.toast(t("ring_stop.taken"), "info");
    else if (reason === "answered" && !wasAnswering) this.toast(t("ring_stop.other_tab"), "info");
    else if (reason === "ended") this.toast(t("ring_stop.ended"), "info");
    if (wasAnswering && reason !== "answered") this.releaseDevicesIfIdle();
    this.render();
  }

  answered(call) {
    this.stopRinging();
    // The kiosk may have taken our call-back: an ordinary call from here on, for the
    // same request.
    const view = this.outCall.answered(call) || call;
    this.startCall(view, parseTime(call.answered_at) ?? serverNow());
    this.requests.open(view);
  }

  /** The hub's error for one of our messages. True when the message goes again (the
   * desk says so; no notice needed). */
  hubError({ code, ref }) {
    if (this.outbox.refused({ code, ref })) {
      this.render();
      return true;
    }
    if (this.outCall.refused({ code, ref })) {
      // The call-back could not start (kiosk offline, busy...): the toast says why.
      this.render();
      return false;
    }
    if (this.call && !this.answering && (code === "call_ended" || code === "call_not_found")) {
      // Our call is gone without our hearing of its end (e.g. across a reconnect).
      this.callEnded({ call_id: this.call.id, status: null, reason: null });
      return false;
    }
    if (this.answering) {
      // The answer failed (taken, gone, wrong state): this ring is over for us.
      this.stopRinging();
      this.releaseDevicesIfIdle();
    }
    this.render();
    return false;
  }

  callEnded({ call_id: callId, status, reason }) {
    this.outbox.confirm("hangup", callId);
    if (this.ringing && this.ringing.id === callId) this.stopRinging();
    const callback = this.outCall.ended(callId, reason);
    if (callback) {
      this.ended = { call_id: callId, status, reason, callback: true, cancelled: callback.cancelled };
    } else if (this.call && this.call.id === callId) {
      this.media.end();
      this.call = null;
      this.soundBlocked = false;
      this.ended = { call_id: callId, status, reason };
      // Back in the queue: whoever answers it next writes its request (a draft stays).
      // It may ring again at once and hide the card, so a notice says it too.
      if (status === "requeued") {
        this.requests.putBack(callId);
        const why = `ended.requeued.${reason}`;
        this.toast(t(has(why) ? why : "ended.requeued"), "info");
      }
    } else if (this.ended && this.ended.call_id === callId && reason) {
      this.ended = { call_id: callId, status, reason }; // the hub's word after our guess
    }
    this.render();
    this.onCallOver();
  }

  /** A (re)connect: restore from the hub's view of our live call, then send again
   * whatever the hub has not confirmed. */
  welcome(msg) {
    this.stopRinging(); // the hub rings again if the call still waits
    const call = msg.call;
    const ended = !call && this.call;
    if (call && call.status === "queued") {
      this.outCall.ringing(call); // our call-back still rings the kiosk
    } else if (call && (!this.call || this.call.id !== call.id)) {
      // A reloaded or reopened console: no peer connection yet; the kiosk offers anew.
      this.startCall(call, parseTime(call.answered_at) ?? serverNow());
      if (!this.requests.isOpen || this.requests.call.id !== call.id) this.requests.open(call);
      this.media.requestOffer(call.id);
    } else if (call) {
      this.call = { ...this.call, ...call };
      // Media is peer to peer and may have outlived the socket; if not, ask the kiosk
      // for a new offer (the last one may have gone with the socket).
      const pc = this.media.pc;
      if (!pc || pc.connectionState !== "connected") {
        this.mediaState = "waiting";
        this.media.requestOffer(call.id);
      }
    }
    if (!call || call.status !== "queued") this.outCall.welcome(call);
    // It ended while we were away from the hub.
    if (ended) this.callEnded({ call_id: this.call.id, status: "completed", reason: null });
    else this.availability = msg.availability;
    this.outbox.reconnected();
    this.render();
  }

  mediaChanged(state) {
    this.mediaState = state;
    this.render();
  }

  soundNeedsClick() {
    this.soundBlocked = true;
    this.render();
  }

  // --- internals ----------------------------------------------------------------

  startCall(call, startMs) {
    this.call = call;
    this.callStart = startMs;
    this.ended = null;
    this.mediaState = "waiting";
    this.localMissing = null;
    this.media.setCall(call.id);
    this.media.acquireLocal().then(({ missing }) => {
      if (this.call && this.call.id === call.id) {
        this.localMissing = missing;
        this.render();
      }
    });
    this.render();
  }

  stopRinging() {
    this.ringer.stop();
    if (this.answering) this.outbox.confirm("answer", this.answering);
    this.ringing = null;
    this.answering = null;
  }

  /** Signed out: no call, nothing left to send. */
  signedOut() {
    this.outbox.clear();
    this.stopRinging();
    this.call = null;
    this.ended = null;
    this.outCall.current = null;
  }

  releaseDevicesIfIdle() {
    if (!this.call) this.media.end();
  }

  /** Once a second: the counters. */
  tick() {
    tickDesk(this);
  }

  render() {
    renderDesk(this);
    tickDesk(this);
  }
}
