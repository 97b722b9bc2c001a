// The sign-in form: sends the name and password to the hub and says in words what went
// wrong.

import * as api from "./api.js";
import { $ } from "./dom.js";
import { t } from "./i18n.js";

/**
 * @param beforeLogin function() inside the click, before anything is sent
 * @param onSignedIn  async function(info) once the hub has signed the operator in
 */
export function initLogin({ beforeLogin, onSignedIn }) {
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const err = $("login-error");
    const submit = form.querySelector("[data-testid=login-submit]");
    const username = form.username.value.trim();
    const password = form.password.value;
    beforeLogin();
    err.hidden = true;
    submit.disabled = true;
    submit.textContent = t("login.busy");
    try {
      const info = await api.login(username, password);
      form.password.value = "";
      await onSignedIn(info);
    } catch (e) {
      err.textContent =
        e.status === 401 ? t("login.bad_credentials") : t("login.failed", { message: e.message });
      err.hidden = false;
    } finally {
      submit.disabled = false;
      submit.textContent = t("login.submit");
    }
  });
}

/** Show the form, ready for a name. */
export function showLoginForm() {
  $("login-view").hidden = false;
  $("login-form").querySelector("input[name=username]").focus();
}
