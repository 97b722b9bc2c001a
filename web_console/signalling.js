// The operator's WebSocket to the hub: the socket, a keep-alive ping, and reconnection
// with backoff until stop() is called. It hands every message the hub sends, parsed,
// to one function (app.js's switch over the message type).

import { me } from "./api.js";

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
// The hub takes a console silent for 9 s as gone (a closed or frozen tab): ping every 3 s.
const PING_EVERY_MS = 3000;
const SILENCE_LIMIT_MS = 10000; // no message (pongs included) for this long: the socket is dead

export class Signalling {
  /**
   * @param onMessage  function(msg) for every message from the hub
   * @param onStatus   function(state, attempt) with state "connecting" | "open" | "reconnecting"
   * @param onAuthLost function() when the session is gone
   */
  constructor({ onMessage, onStatus, onAuthLost }) {
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onAuthLost = onAuthLost;
    this.ws = null;
    this.stopped = true;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastHeard = 0;
    this.refSeq = 0;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.onStatus("connecting", 0);
    this.open();
  }

  /** Close for good (logout). Idempotent. */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.retryTimer = null;
    this.pingTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close(1000, "logout");
    }
  }

  get connected() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send one message; returns its ref, or null when the socket isn't open. */
  send(msg) {
    if (!this.connected) return null;
    const ref = msg.ref ?? `c${++this.refSeq}`;
    this.ws.send(JSON.stringify({ ...msg, ref }));
    return ref;
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/operator`);
    this.ws = ws;
    ws.onopen = () => {
      this.lastHeard = Date.now();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.keepAlive(), PING_EVERY_MS);
    };
    ws.onmessage = (ev) => {
      this.lastHeard = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        console.error("yijian: hub sent a message that is not JSON", ev.data);
        return;
      }
      if (msg.type === "welcome") {
        // The hub's first word on every socket: open from here on.
        this.attempt = 0;
        this.onStatus("open", 0);
      }
      this.onMessage(msg);
    };
    ws.onerror = () => {
      // onclose follows and does the work
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      this.pingTimer = null;
      console.info(`yijian: operator socket closed (${ev.code} ${ev.reason || ""})`);
      if (!this.stopped) this.scheduleReconnect();
    };
  }

  keepAlive() {
    if (!this.connected) return;
    if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
      console.warn("yijian: hub silent too long; reconnecting");
      this.ws.close(4000, "silent");
      return;
    }
    this.send({ type: "ping" });
  }

  async scheduleReconnect() {
    const attempt = ++this.attempt;
    this.onStatus("reconnecting", attempt);
    // A refused handshake looks the same as a dead hub; ask whether the session lives.
    try {
      await me();
    } catch (err) {
      if (err.status === 401) {
        if (!this.stopped) {
          this.stop();
          this.onAuthLost();
        }
        return;
      }
    }
    if (this.stopped) return;
    const base = BACKOFF_MS[Math.min(attempt - 1, BACKOFF_MS.length - 1)];
    const delay = base * (0.8 + Math.random() * 0.4);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.open();
    }, delay);
  }
}
