// What the operator asks of the hub that changes a call (answer, hang up), kept until
// the hub confirms it, as the kiosk keeps its own (kiosk_client/outbox.py). A message
// that meets `unavailable` (the hub cannot reach Redis for a moment) goes again after a
// growing, jittered pause; one the socket lost goes again once the hub's welcome says
// the socket is back; a hang-up the hub said nothing about goes again after a silence
// (the hub answers `call_ended` if it took the first). The desk confirms each with the
// hub's own word: `call_ended` for a hang-up, `answered` or a refusal for an answer.

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
const RESEND_CODES = new Set(["unavailable"]);
// A hang-up the hub has said nothing about for this long goes again. (An answer's
// reply comes on the same socket, so silence there means the socket is gone.)
const SILENCE_MS = { hangup: 8000 };

export class Outbox {
  /** @param send function(msg) → ref, or null when the hub's socket is down */
  constructor({ send }) {
    this.send = send;
    this.pending = new Map(); // "type:callId" → {msg, ref, tries, waiting, timer, silenceMs}
  }

  /**
   * Send `msg` ({type, call_id}) and keep it until confirm(type, call_id). Returns the
   * ref it went with, or null when the socket is down (it goes once the socket is back).
   */
  post(msg) {
    this.confirm(msg.type, msg.call_id);
    const silenceMs = SILENCE_MS[msg.type] ?? 0;
    const entry = { msg, ref: null, tries: 0, waiting: false, timer: null, silenceMs };
    this.pending.set(keyOf(msg.type, msg.call_id), entry);
    this.transmit(entry);
    return entry.ref;
  }

  has(type, callId) {
    return this.pending.has(keyOf(type, callId));
  }

  /** True while the hub could not take the message yet (or the socket is down): the
   * desk says it is being sent again. */
  retrying(type, callId) {
    const entry = this.pending.get(keyOf(type, callId));
    return Boolean(entry && (entry.waiting || entry.ref === null));
  }

  /** The hub's word on the call came: stop sending. Idempotent. */
  confirm(type, callId) {
    const key = keyOf(type, callId);
    const entry = this.pending.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(key);
  }

  /**
   * The hub's `error` for a message. True when it was one of ours that goes again
   * (`unavailable`); any other refusal is the hub's answer, and the message is dropped.
   */
  refused({ code, ref }) {
    if (!ref) return false;
    for (const [key, entry] of this.pending) {
      if (entry.ref !== ref) continue;
      if (!RESEND_CODES.has(code)) {
        clearTimeout(entry.timer);
        this.pending.delete(key);
        return false;
      }
      entry.waiting = true;
      this.schedule(entry, backoff(entry.tries));
      return true;
    }
    return false;
  }

  /** The socket is back (the hub's welcome): send again whatever is still unconfirmed. */
  reconnected() {
    for (const entry of this.pending.values()) this.transmit(entry);
  }

  /** Signed out: nothing more goes. */
  clear() {
    for (const entry of this.pending.values()) clearTimeout(entry.timer);
    this.pending.clear();
  }

  transmit(entry) {
    clearTimeout(entry.timer);
    entry.timer = null;
    entry.ref = this.send(entry.msg);
    if (entry.ref === null) return; // the welcome of the next socket sends it
    entry.tries += 1;
    if (entry.tries > 1) console.info(`yijian: sent ${entry.msg.type} for ${entry.msg.call_id} again (${entry.tries})`);
    if (entry.silenceMs) this.schedule(entry, entry.silenceMs);
  }

  schedule(entry, delayMs) {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if ([...this.pending.values()].includes(entry)) this.transmit(entry);
    }, delayMs);
  }
}

function keyOf(type, callId) {
  return `${type}:${callId}`;
}

function backoff(tries) {
  const base = BACKOFF_MS[Math.min(Math.max(tries - 1, 0), BACKOFF_MS.length - 1)];
  return base * (0.8 + Math.random() * 0.4);
}
