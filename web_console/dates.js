// Days, ranges and numbers for the review screens. A day is a calendar day
// ("YYYY-MM-DD", as <input type="date"> speaks it) of the town: the hub counts its
// numbers per local day of the town, so "today" must mean the town's today. The hub
// gets a range as two instants, since (inclusive) and until (exclusive), in ISO 8601.
// When the hub tells the town's UTC offset the days are the town's; otherwise they
// are this computer's, which in a town hall is the same thing.

import { getLang, t } from "./i18n.js";

const pad = (n) => String(n).padStart(2, "0");
let townOffsetMs = null; // null: this computer's time zone

/** The town's offset from UTC in hours, or null to use this computer's zone. */
export function setTownOffset(hours) {
  townOffsetMs = typeof hours === "number" && Number.isFinite(hours) ? hours * 3_600_000 : null;
}

function parts(day) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day || "");
  return m ? [Number(m[1]), Number(m[2]) - 1, Number(m[3])] : null;
}

/** "YYYY-MM-DD" of an instant, on the town's calendar. */
export function isoDay(date) {
  if (townOffsetMs === null) {
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  }
  const d = new Date(date.getTime() + townOffsetMs);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** The calendar day `n` days after `day` (n may be negative). */
export function addDays(day, n) {
  const p = parts(day);
  if (!p) return "";
  const d = new Date(Date.UTC(p[0], p[1], p[2] + n));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** The instant the town's day "YYYY-MM-DD" starts, or null for an empty or bad value. */
export function dayStart(day) {
  const p = parts(day);
  if (!p) return null;
  if (townOffsetMs === null) return new Date(p[0], p[1], p[2]);
  return new Date(Date.UTC(p[0], p[1], p[2]) - townOffsetMs);
}

/** The instant after the town's day "YYYY-MM-DD": the exclusive end of that day. */
export function dayAfter(day) {
  return dayStart(addDays(day, 1));
}

/** A calendar day as a Date for formatting with timeZone "UTC" (no zone can shift it). */
const calendarDate = (day) => {
  const p = parts(day);
  return p ? new Date(Date.UTC(p[0], p[1], p[2])) : null;
};

/** {since, until} for a from/to pair of days; either may be empty. */
export function rangeParams(from, to) {
  const since = dayStart(from);
  const until = dayAfter(to);
  return { since: since ? since.toISOString() : "", until: until ? until.toISOString() : "" };
}

/** The days of a named range ending today: today, 7d, 30d, month. */
export function presetRange(preset, now = new Date()) {
  const today = isoDay(now);
  const back = (n) => addDays(today, -n);
  switch (preset) {
    case "today":
      return { from: today, to: today };
    case "7d":
      return { from: back(6), to: today };
    case "30d":
      return { from: back(29), to: today };
    case "month":
      return { from: `${today.slice(0, 8)}01`, to: today };
    default:
      throw new Error(`unknown range preset ${preset}`);
  }
}

/** A day for headings: "2026年6月1日" or "Jun 1, 2026". */
export function longDay(day) {
  const d = calendarDate(day);
  if (!d) return "";
  return d.toLocaleDateString(getLang(), { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });
}

/** A day for a chart's axis: "6/1" in both languages (short and unambiguous). */
export function axisDay(day) {
  const p = parts(day);
  return p ? `${p[1] + 1}/${p[2]}` : String(day);
}

/** The town's date of an ISO instant, e.g. "6月1日" / "Jun 1" (with the year when not this year). */
export function dateOf(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  const day = isoDay(at);
  const sameYear = day.slice(0, 4) === isoDay(new Date()).slice(0, 4);
  return calendarDate(day).toLocaleDateString(getLang(), {
    year: sameYear ? undefined : "numeric",
    month: "short",
    day: "numeric",
    timeZone: "UTC",
  });
}

/** A count with the language's digit grouping. */
export function count(n) {
  return typeof n === "number" && Number.isFinite(n) ? n.toLocaleString(getLang()) : t("detail.none");
}

/** A rate as a percentage: 0.875 → "87.5%". The hub sends rates as fractions of 1. */
export function percent(rate) {
  if (typeof rate !== "number" || !Number.isFinite(rate)) return t("detail.none");
  const p = rate * 100;
  return `${p >= 99.95 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

/** Seconds, readably: "8.4 秒", "2 分 05 秒" / "8.4 s", "2 min 05 s". */
export function seconds(s) {
  if (typeof s !== "number" || !Number.isFinite(s)) return t("detail.none");
  if (s < 60) return t("unit.seconds", { n: s < 10 ? s.toFixed(1).replace(/\.0$/, "") : Math.round(s) });
  const whole = Math.round(s);
  return t("unit.minutes_seconds", { m: Math.floor(whole / 60), s: pad(whole % 60) });
}

/** Date and time to the minute, e.g. "11月26日 14:03" / "Nov 26, 14:03". */
export function dayTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleString(getLang(), {
    year: sameYear ? undefined : "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });
}
