// The console's few DOM helpers, shared by every module: find an element, build one,
// close the open dialogs.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** The first element under `root` that matches a CSS selector. */
export const find = (root, selector) => root.querySelector(selector);

/** Create an element: h("td", {class: "x"}, "text", child, ...). Attributes that are
 * null, undefined or false are left out; true gives an empty attribute. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === "") continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Close every open dialog (a ring or a call-back brings the desk forward). */
export function closeDialogs() {
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
}
