// The desk: what rings, the call in progress and how it ended. Holds the call
// state; app.js feeds it the hub's messages.

import { clock, parseTime, serverNow, since } from "./format.js";
import { t, tr } from "./i18n.js";

const $ = (id) => document.getElementById(id);

export class Desk {
  /**
   * @param send      function(msg) → ref or null (not connected)
   * @param media     CallMedia
   * @param ringer    Ringer
   * @param requests  RequestForm
   * @param onCallOver function() after a call ends (refreshes the log)
   */
  constructor({ send, media, ringer, requests, toast, onCallOver }) {
    this.send = send;
    this.media = media;
    this.ringer = ringer;
    this.requests = requests;
    this.toast = toast;
    this.onCallOver = onCallOver;
    this.availability = "away";
    this.ringing = null; // CallView ringing this operator
    this.answering = null; // call id we sent `answer` for
    this.call = null; // the live call, a CallView
    this.callStart = 0; // hub-clock ms when it was answered
    this.mediaState = "waiting";
    this.localMissing = null; // null | "camera" | "all"
    this.hangingUp = false;
    this.ended = null; // {call_id, status, reason} of the call that just ended
    this.soundBlocked = false;

    $("answer-btn").addEventListener("click", () => this.answer());
    $("hangup-btn").addEventListener("click", () => this.hangup());
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

  get inCall() {
    return this.call !== null;
  }

  // --- operator actions ---------------------------------------------------------

  answer() {
    const call = this.ringing;
    if (!call || this.answering) return;
    this.ringer.unlock();
    if (!this.send({ type: "answer", call_id: call.id })) {
      this.toast(t("error.not_connected"), "error");
      return;
    }
    this.answering = call.id;
    // Ask for the camera now, inside the click, so the browser allows it at once.
    this.media.acquireLocal();
    this.render();
  }

  hangup() {
    if (!this.call) return;
    if (!this.send({ type: "hangup", call_id: this.call.id })) {
      this.toast(t("error.not_connected"), "error");
      return;
    }
    this.hangingUp = true;
    this.render();
  }

  // --- from the hub -------------------------------------------------------------

  setAvailability(state) {
    this.availability = state;
    if (state === "away") this.stopRinging();
    this.render();
  }

  ring(call) {
    this.ringing = call;
    this.answering = null;
    this.ended = null; // that notice was about an earlier call
    this.ringer.start();
    this.render();
  }

  ringStop({ call_id: callId, reason }) {
    if (!this.ringing || this.ringing.id !== callId) return;
    const wasAnswering = this.answering === callId;
    this.stopRinging();
    // "answered" without our own answer: another operator took it.
    if (reason === "taken" || (reason === "answered" && !wasAnswering)) {
      this.toast(t("ring_stop.taken"), "info");
    }
    else if (reason === "ended") this.toast(t("ring_stop.ended"), "info");
    if (wasAnswering && reason !== "answered") this.releaseDevicesIfIdle();
    this.render();
  }

  answered(call) {
    this.stopRinging();
    this.startCall(call, parseTime(call.answered_at) ?? serverNow());
    this.requests.open(call);
  }

  /** The hub's error for one of our messages. */
  hubError({ code }) {
    if (this.call && !this.answering && (code === "call_ended" || code === "call_not_found")) {
      // Our call is gone without our hearing of its end (e.g. across a reconnect).
      this.callEnded({ call_id: this.call.id, status: null, reason: null });
      return;
    }
    if (this.answering) {
      // The answer failed (taken, gone, wrong state): this ring is over for us.
      this.stopRinging();
      this.releaseDevicesIfIdle();
    }
    this.hangingUp = false;
    this.render();
  }

  callEnded({ call_id: callId, status, reason }) {
    if (this.ringing && this.ringing.id === callId) this.stopRinging();
    if (this.call && this.call.id === callId) {
      this.media.end();
      this.call = null;
      this.hangingUp = false;
      this.soundBlocked = false;
      this.ended = { call_id: callId, status, reason };
    } else if (this.ended && this.ended.call_id === callId && reason) {
      this.ended = { call_id: callId, status, reason }; // the hub's word after our guess
    }
    this.render();
    this.onCallOver();
  }

  /** A (re)connect: restore from the hub's view of our live call. */
  welcome(msg) {
    this.stopRinging(); // the hub rings again if the call still waits
    const call = msg.call;
    if (call && (!this.call || this.call.id !== call.id)) {
      this.startCall(call, parseTime(call.answered_at) ?? serverNow());
      if (!this.requests.isOpen || this.requests.call.id !== call.id) this.requests.open(call);
    } else if (call) {
      this.call = { ...this.call, ...call };
      // Media is peer to peer and may have outlived the socket; if not, the kiosk
      // sends a new offer.
      const pc = this.media.pc;
      if (!pc || pc.connectionState !== "connected") this.mediaState = "waiting";
    } else if (this.call) {
      // It ended while we were away from the hub.
      this.callEnded({ call_id: this.call.id, status: "completed", reason: null });
      return;
    }
    this.setAvailability(msg.availability);
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
    this.hangingUp = false;
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
    this.ringing = null;
    this.answering = null;
  }

  releaseDevicesIfIdle() {
    if (!this.call) this.media.end();
  }

  /** Once a second: the counters. */
  tick() {
    if (this.ringing) {
      $("incoming-wait").textContent = t("incoming.waiting", { time: clock(since(this.ringing.created_at)) });
    }
    if (this.call) {
      $("call-timer").textContent = t("call.timer", { time: clock((serverNow() - this.callStart) / 1000) });
    }
  }

  render() {
    const ringing = this.ringing;
    const call = this.call;
    $("incoming").hidden = !ringing;
    $("in-call").hidden = !call;
    $("ended").hidden = !this.ended || Boolean(call) || Boolean(ringing);
    $("idle-panel").hidden = Boolean(ringing || call || this.ended);

    const away = this.availability !== "available";
    $("idle-panel").dataset.state = away ? "away" : "available";
    $("idle-title").textContent = t(away ? "desk.idle.away" : "desk.idle.available");
    $("idle-hint").textContent = t(away ? "desk.idle.away_hint" : "desk.idle.available_hint");

    if (ringing) {
      const inc = $("incoming");
      inc.dataset.callId = ringing.id;
      $("incoming-kiosk").textContent = ringing.kiosk_name || ringing.kiosk_id;
      $("incoming-village").textContent = ringing.village || "";
      const btn = $("answer-btn");
      btn.disabled = Boolean(this.answering);
      btn.textContent = t(this.answering ? "incoming.answering" : "incoming.answer");
    } else {
      delete $("incoming").dataset.callId;
    }

    if (call) {
      $("in-call").dataset.callId = call.id;
      $("call-with").textContent = t("call.with", {
        kiosk: call.kiosk_name || call.kiosk_id,
        village: call.village || "",
      });
      const ms = $("media-state");
      ms.dataset.state = this.mediaState;
      ms.textContent = t(`call.media.${this.mediaState}`);
      ms.hidden = this.mediaState === "connected";
      const warn = $("local-warning");
      warn.hidden = !this.localMissing;
      warn.textContent = this.localMissing === "camera" ? t("call.no_camera") : t("call.no_local_media");
      $("unmute-btn").hidden = !this.soundBlocked;
      const hang = $("hangup-btn");
      hang.disabled = this.hangingUp;
      hang.textContent = t(this.hangingUp ? "call.hanging_up" : "call.hangup");
    }

    if (this.ended) {
      const reason = this.ended.reason ? tr("reason", this.ended.reason) : "";
      const status = this.ended.status ? tr("status", this.ended.status) : "";
      $("ended-reason").textContent = reason || status;
    }

    $("desk-grid").classList.toggle("has-side", this.requests.isOpen || Boolean(this.requests.saved));
    this.tick();
  }
}
