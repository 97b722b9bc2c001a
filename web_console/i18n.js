// The console's language: zh-CN by default, en on request, remembered in
// localStorage. Static text in index.html carries data-i18n* attributes; dynamic
// parts call t() and re-render through onLangChange().

import { STRINGS } from "./strings.js";

const STORAGE_KEY = "yijian.lang";
export const LANGS = ["zh-CN", "en"];

function initialLang() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch {
    // storage may be disabled; fall back to the default
  }
  return "zh-CN";
}

let lang = initialLang();
const listeners = new Set();

export function getLang() {
  return lang;
}

/** Translate `key`, filling `{name}` placeholders from `params`. Unknown keys show as is. */
export function t(key, params = {}) {
  const text = STRINGS[lang][key] ?? STRINGS["zh-CN"][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** Translate `prefix.value` if known, else show the raw value (e.g. an unknown category). */
export function tr(prefix, value) {
  if (value === null || value === undefined || value === "") return "";
  const key = `${prefix}.${value}`;
  return STRINGS[lang][key] ?? STRINGS["zh-CN"][key] ?? String(value);
}

export function has(key) {
  return key in STRINGS[lang] || key in STRINGS["zh-CN"];
}

/** Fill every data-i18n (text), data-i18n-placeholder and data-i18n-title under root. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  document.documentElement.lang = lang;
  document.title = t("app.title");
}

export function setLang(next) {
  if (!LANGS.includes(next) || next === lang) return;
  lang = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // not remembered, but still switched
  }
  applyI18n();
  for (const fn of listeners) fn(lang);
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
