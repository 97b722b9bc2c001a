// Notices at the corner of the page (each a `toast`), and the hub's error codes in
// the operator's words.

import { $ } from "./dom.js";
import { has, t } from "./i18n.js";

const TOAST_MS = 6000;

/** Show `text` for a few seconds; an error is read out at once by a screen reader. */
export function toast(text, kind = "info") {
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  el.dataset.testid = "toast";
  el.textContent = text;
  $("toasts").append(el);
  setTimeout(() => el.remove(), TOAST_MS);
}

/** The hub's `error`, translated when its code is known. */
export function hubErrorText({ code, message }) {
  return has(`error.${code}`) ? t(`error.${code}`) : message || code;
}
