// Times and durations for display, and a rough estimate of the hub's clock so
// that "waiting 0:42" counts from the hub's created_at even when this PC's clock
// is off.

import { getLang } from "./i18n.js";

let serverOffsetMs = 0;
// A Date header is whole seconds, and a busy server may stamp one a little stale: it
// is never ahead of the hub's clock. So the largest of the recent readings is the best.
const readings = [];
const READINGS_KEPT = 20;

/** Record the hub's HTTP Date header; only a skew over 2 s is worth correcting. */
export function noteServerDate(header) {
  if (!header) return;
  const server = Date.parse(header);
  if (Number.isNaN(server)) return;
  readings.push(server + 500 - Date.now()); // the middle of the header's second
  if (readings.length > READINGS_KEPT) readings.shift();
  const offset = Math.max(...readings);
  serverOffsetMs = Math.abs(offset) > 2000 ? offset : 0;
}

/** Now, on the hub's clock (milliseconds since the epoch). */
export function serverNow() {
  return Date.now() + serverOffsetMs;
}

export function parseTime(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** Seconds as m:ss, or h:mm:ss from an hour on. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Seconds elapsed since an ISO time, on the hub's clock. */
export function since(iso) {
  const t = parseTime(iso);
  return t === null ? 0 : Math.max(0, (serverNow() - t) / 1000);
}

/** Seconds between two ISO times, or null when either is missing. */
export function between(fromIso, toIso) {
  const a = parseTime(fromIso);
  const b = parseTime(toIso);
  return a === null || b === null ? null : Math.max(0, (b - a) / 1000);
}

/** A readable local date and time, e.g. "11月26日 14:03:07" or "Nov 26, 14:03:07". */
export function dateTime(iso) {
  const t = parseTime(iso);
  if (t === null) return "";
  const d = new Date(t);
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleString(getLang(), {
    year: sameYear ? undefined : "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  });
}

/** Local time of day only, for an event timeline. */
export function timeOfDay(iso) {
  const t = parseTime(iso);
  if (t === null) return "";
  return new Date(t).toLocaleTimeString(getLang(), { hour12: false });
}
