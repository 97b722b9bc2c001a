// Draws the desk from its state (desk.js): the idle panel, the ringing call, the
// call-back ringing a kiosk (and its ringback), the call in progress and how the last
// call ended.

import { $ } from "./dom.js";
import { clock, serverNow, since } from "./format.js";
import { has, t, tr } from "./i18n.js";

/** The idle panel's words: away, waiting, or busy with a call in another tab. */
function idleWords(desk) {
  const state = desk.presence.state;
  if (state === "busy") return ["busy", "presence.busy_elsewhere", "presence.busy_elsewhere_hint"];
  if (state === "wrap_up") return ["wrap_up", "presence.wrap_title", "presence.wrap_idle_hint"];
  if (desk.availability !== "available") return ["away", "desk.idle.away", "desk.idle.away_hint"];
  return ["available", "desk.idle.available", "desk.idle.available_hint"];
}

function renderIdle(desk) {
  const [state, title, hint] = idleWords(desk);
  $("idle-panel").dataset.state = state;
  $("idle-title").textContent = t(title);
  $("idle-hint").textContent = t(hint);
}

function renderRinging(ringing, answering, retrying) {
  const inc = $("incoming");
  if (!ringing) {
    delete inc.dataset.callId;
    return;
  }
  inc.dataset.callId = ringing.id;
  $("incoming-kiosk").textContent = ringing.kiosk_name || ringing.kiosk_id;
  $("incoming-village").textContent = ringing.village || "";
  const btn = $("answer-btn");
  btn.disabled = Boolean(answering);
  btn.textContent = t(answering ? "incoming.answering" : "incoming.answer");
  showNote($("answer-note"), answering && retrying ? "incoming.answer_retrying" : null);
}

/** A note under a button whose message the hub could not take yet: it goes again. */
function showNote(el, key) {
  el.hidden = !key;
  el.textContent = key ? t(key) : "";
}

function renderCallback(cb, cancelling) {
  const card = $("callback-ringing");
  if (!cb) {
    delete card.dataset.callId;
    return;
  }
  const where = cb.call || cb.target;
  if (cb.call) card.dataset.callId = cb.call.id;
  else delete card.dataset.callId;
  card.dataset.state = cb.call ? "ringing" : "starting";
  $("callback-kiosk").textContent = where.kiosk_name || where.kiosk_id || "";
  $("callback-village").textContent = where.village || "";
  $("callback-hint").textContent = t(cb.call ? "callback.ringing_hint" : "callback.starting");
  const cancel = $("callback-cancel");
  cancel.disabled = !cb.call || cancelling;
  cancel.textContent = t(cancelling ? "callback.cancelling" : "callback.cancel");
}

function renderCall(desk) {
  const call = desk.call;
  $("in-call").dataset.callId = call.id;
  $("call-with").textContent = t("call.with", {
    kiosk: call.kiosk_name || call.kiosk_id,
    village: call.village || "",
  });
  const ms = $("media-state");
  ms.dataset.state = desk.mediaState;
  ms.textContent = t(`call.media.${desk.mediaState}`);
  ms.hidden = desk.mediaState === "connected";
  const warn = $("local-warning");
  warn.hidden = !desk.localMissing;
  warn.textContent = desk.localMissing === "camera" ? t("call.no_camera") : t("call.no_local_media");
  $("unmute-btn").hidden = !desk.soundBlocked;
  const hang = $("hangup-btn");
  hang.disabled = desk.hangingUp;
  hang.textContent = t(desk.hangingUp ? "call.hanging_up" : "call.hangup");
  showNote($("hangup-note"), desk.hangingUp && desk.retrying ? "call.hangup_retrying" : null);
}

/** How the last call ended, in words: a call-back that did not connect and a call put
 * back in the queue say so. */
function renderEnded(ended) {
  const card = $("ended");
  card.dataset.status = ended.status || "";
  card.dataset.reason = ended.reason || "";
  const reason = ended.reason ? tr("reason", ended.reason) : "";
  const status = ended.status ? tr("status", ended.status) : "";
  let title = "ended.title";
  let text = reason || status;
  if (ended.status === "requeued") {
    title = "ended.requeued_title";
    const why = `ended.requeued.${ended.reason}`;
    text = t(has(why) ? why : "ended.requeued");
  } else if (ended.callback && ended.status !== "completed") {
    title = "ended.callback_title";
    if (ended.cancelled) text = t("ended.cancelled");
  }
  $("ended-title").textContent = t(title);
  $("ended-reason").textContent = text;
}

export function renderDesk(desk) {
  const { ringing, call, callback } = desk;
  const showEnded = Boolean(desk.ended) && !call && !ringing && !callback;
  $("incoming").hidden = !ringing;
  $("callback-ringing").hidden = !callback || Boolean(call);
  $("in-call").hidden = !call;
  $("ended").hidden = !showEnded;
  $("idle-panel").hidden = Boolean(ringing || call || callback || desk.ended);

  renderIdle(desk);
  renderRinging(ringing, desk.answering, desk.retrying);
  renderCallback(callback, desk.outCall.cancelling);
  // While our call-back rings the kiosk, a quiet ringback; cancelling silences it at once.
  const ringback = desk.ringer.ringback(Boolean(callback && callback.call && !call && !desk.outCall.cancelling));
  $("callback-ringing").dataset.ringback = ringback ? "on" : "off";
  if (call) renderCall(desk);
  if (showEnded) renderEnded(desk.ended);
  $("desk-grid").classList.toggle("has-side", desk.requests.isOpen || Boolean(desk.requests.saved));
}

/** Once a second: how long the call has rung, or lasted; how long a call-back rings. */
export function tickDesk(desk) {
  desk.outCall.tick();
  if (desk.ringing) {
    $("incoming-wait").textContent = t("incoming.waiting", { time: clock(since(desk.ringing.created_at)) });
  }
  if (desk.call) {
    $("call-timer").textContent = t("call.timer", { time: clock((serverNow() - desk.callStart) / 1000) });
  }
}
