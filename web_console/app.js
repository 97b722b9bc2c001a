// Wiring: login and logout, the header, the tabs, the hub's socket, toasts.

import * as api from "./api.js";
import { CallMedia } from "./call.js";
import { Desk } from "./desk.js";
import { applyI18n, getLang, has, onLangChange, setLang, t } from "./i18n.js";
import { Presence } from "./presence.js";
import { RequestForm } from "./request.js";
import { Review } from "./review.js";
import { Ringer } from "./ringer.js";
import { Signalling } from "./signalling.js";
import { TownDesk } from "./towndesk.js";

const $ = (id) => document.getElementById(id);
const TOAST_MS = 6000;

let operator = null; // {username, town_id, town_name, role} while logged in
let tab = "desk";
let stayAvailable = false; // the operator's last confirmed choice, kept across reconnects
const VIEWS = {
  desk: "desk-view",
  log: "log-view",
  requests: "requests-view",
  dashboard: "dashboard-view",
};

// --- toasts and the connection banner ---------------------------------------------

function toast(text, kind = "info") {
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
  el.dataset.testid = "toast";
  el.textContent = text;
  $("toasts").append(el);
  setTimeout(() => el.remove(), TOAST_MS);
}

function hubErrorText({ code, message }) {
  return has(`error.${code}`) ? t(`error.${code}`) : message || code;
}

let bannerState = "open";
function showBanner(state) {
  bannerState = state;
  // No availability changes without the hub; a click would only be lost.
  $("availability").disabled = state !== "open";
  const banner = $("banner");
  banner.hidden = state !== "reconnecting" || !operator; // a first connect is quick
  $("banner-text").textContent = t(state === "connecting" ? "banner.connecting" : "banner.reconnecting");
}

// --- the parts --------------------------------------------------------------------

const ringer = new Ringer();
window.yijian = Object.assign(window.yijian || {}, { ringer }); // for tests
let desk = null;
const presence = new Presence({
  onResume: () => setAvailability("available"),
  onChange: () => desk.render(),
});
const signalling = new Signalling({
  welcome: (msg) => {
    media.setIceServers(msg.ice_servers);
    if (msg.operator) setOperator(msg.operator);
    presence.reset(); // the hub says the state again right after
    desk.welcome(msg);
    townDesk.connected();
    renderAvailability();
    // The hub starts every socket away. A console that was available before its
    // socket dropped asks to be available again; a freshly opened one stays away.
    if (stayAvailable && msg.availability !== "available") {
      send({ type: "set_availability", state: "available" });
    }
  },
  availability: (msg) => {
    stayAvailable = msg.state === "available";
    desk.setAvailability(msg.state);
    renderAvailability();
  },
  presence: (msg) => {
    presence.update(msg, Boolean(desk.ringing));
    desk.render();
  },
  ring: (msg) => {
    // A villager waiting comes first: bring the desk forward.
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
    showTab("desk");
    desk.ring(msg.call);
  },
  ring_stop: (msg) => desk.ringStop(msg),
  callback_ringing: (msg) => {
    desk.callbackRinging(msg.call);
    showTab("desk");
  },
  answered: (msg) => {
    desk.answered(msg.call);
    showTab("desk");
  },
  sdp: (msg) => {
    if (msg.description && msg.description.type === "offer") {
      media.handleOffer(msg.call_id, msg.description);
    } else {
      console.warn("yijian: ignored an sdp that is not an offer", msg);
    }
  },
  ice: (msg) => media.handleIce(msg.call_id, msg.candidate),
  call_ended: (msg) => desk.callEnded(msg),
  team: (msg) => townDesk.pushed(msg),
  error: (msg) => {
    if (!msg.ref || userRefs.delete(msg.ref)) toast(hubErrorText(msg), "error");
    else console.warn("yijian: hub refused a background message", msg);
    desk.hubError(msg);
  },
  unknown: (msg) => console.error("yijian: unhandled hub message", msg),
  status: (state) => showBanner(state),
  authLost: () => {
    toast(t("error.unauthorized"), "error");
    signedOut();
  },
});
// Errors answering what the operator did (answer, hang up, availability) are shown;
// errors about background traffic (candidates, media reports) only go to the console.
const userRefs = new Set();
const send = (msg) => {
  const ref = signalling.send(msg);
  if (ref) userRefs.add(ref);
  if (userRefs.size > 50) userRefs.delete(userRefs.values().next().value); // most get no error
  return ref;
};
const sendQuietly = (msg) => signalling.send(msg);

const media = new CallMedia({
  send: sendQuietly,
  onState: (state) => desk.mediaChanged(state),
  onAutoplayBlocked: () => desk.soundNeedsClick(),
  remoteVideo: $("remote-video"),
  localVideo: $("local-video"),
});

// The call log, the requests and the numbers (review.js).
const review = new Review({
  toast,
  showTab: (name) => showTab(name),
  onCategories: (categories) => requests.setConfig({ categories }),
  onCallback: (target) => {
    // The desk shows the call-back ringing, then the call.
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
    showTab("desk");
    desk.callBack(target);
  },
});
const log = review.log;

const requests = new RequestForm({
  form: $("request-form"),
  savedCard: $("request-saved"),
  toast,
  onSaved: () => {
    desk.render();
    log.refresh();
  },
});

desk = new Desk({ send, media, ringer, requests, presence, toast, onCallOver: () => log.refresh() });

// 值班情况 and the queue settings (towndesk.js).
const townDesk = new TownDesk({
  send,
  toast,
  openCall: (id) => log.openDetail(id),
  directory: review.directory,
  onMaxMissed: (n) => presence.setMaxMissed(n),
});

// --- header -----------------------------------------------------------------------

function setOperator(info) {
  operator = info;
  $("town-name").textContent = info.town_name || info.town_id || "";
  $("operator-name").textContent = info.username;
}

function renderAvailability() {
  const btn = $("availability");
  const state = desk.availability;
  btn.dataset.state = state;
  btn.setAttribute("aria-pressed", String(state === "available"));
  // The state shows beside it (presence.js); the switch says what a click does.
  $("avail-label").textContent = t(`avail.action.${state}`);
  btn.title = t(`avail.${state}`);
}

function setAvailability(next) {
  ringer.unlock(); // a click now lets the ring tone sound later
  if (next === "away") presence.askedAway();
  if (!send({ type: "set_availability", state: next })) toast(t("error.not_connected"), "error");
  // The UI follows the hub's `availability` reply, not the click.
}

$("availability").addEventListener("click", () => {
  setAvailability(desk.availability === "available" ? "away" : "available");
});

function renderLangSwitch() {
  for (const btn of document.querySelectorAll(".lang-switch button")) {
    btn.setAttribute("aria-pressed", String(btn.dataset.lang === getLang()));
  }
}

for (const btn of document.querySelectorAll(".lang-switch button")) {
  btn.addEventListener("click", () => setLang(btn.dataset.lang));
}

function showTab(name) {
  tab = name;
  for (const [key, id] of Object.entries(VIEWS)) $(id).hidden = key !== name;
  for (const btn of document.querySelectorAll(".tab")) {
    btn.setAttribute("aria-selected", String(btn.dataset.tab === name));
    btn.classList.toggle("active", btn.dataset.tab === name);
  }
  townDesk.setVisible(name === "desk"); // 值班情况's fallback asks the hub only while it shows
}

for (const btn of document.querySelectorAll(".tab")) {
  btn.addEventListener("click", () => {
    showTab(btn.dataset.tab);
    review.shown(btn.dataset.tab);
  });
}

// --- signing in and out -------------------------------------------------------------

function showLogin() {
  for (const id of [...Object.values(VIEWS), "tabs", "availability", "logout"]) $(id).hidden = true;
  $("town-name").textContent = "";
  $("operator-name").textContent = "";
  $("banner").hidden = true;
  $("login-view").hidden = false;
  $("login-form").querySelector("input[name=username]").focus();
}

async function signedIn(info) {
  setOperator(info);
  stayAvailable = false;
  $("login-view").hidden = true;
  for (const id of ["tabs", "availability", "logout"]) $(id).hidden = false;
  townDesk.signedIn(info);
  desk.setAvailability("away");
  renderAvailability();
  showTab("desk");
  signalling.start();
  let config = null;
  try {
    config = await api.config();
    requests.setConfig(config);
  } catch (err) {
    toast(err.message, "error");
  }
  await review.signedIn(info, config);
}

function signedOut() {
  stayAvailable = false;
  signalling.stop();
  ringer.silence();
  media.end();
  desk.call = null;
  desk.ended = null;
  desk.callback = null;
  presence.clear();
  townDesk.signedOut();
  desk.setAvailability("away");
  requests.reset();
  review.signedOut();
  operator = null;
  showLogin();
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.currentTarget;
  const err = $("login-error");
  const submit = form.querySelector("[data-testid=login-submit]");
  const username = form.username.value.trim();
  const password = form.password.value;
  ringer.unlock();
  err.hidden = true;
  submit.disabled = true;
  submit.textContent = t("login.busy");
  try {
    const info = await api.login(username, password);
    form.password.value = "";
    await signedIn(info);
  } catch (e) {
    err.textContent =
      e.status === 401 ? t("login.bad_credentials") : t("login.failed", { message: e.message });
    err.hidden = false;
  } finally {
    submit.disabled = false;
    submit.textContent = t("login.submit");
  }
});

$("logout").addEventListener("click", async () => {
  if (desk.inCall) {
    if (!window.confirm(t("header.logout_confirm"))) return;
    send({ type: "hangup", call_id: desk.call.id });
  }
  try {
    await api.logout();
  } catch (e) {
    console.warn("yijian: logout failed", e);
  }
  signedOut();
});

// --- start ----------------------------------------------------------------------------

onLangChange(() => {
  renderLangSwitch();
  renderAvailability();
  showBanner(bannerState);
  presence.render();
  desk.render();
  requests.render();
  review.render();
  townDesk.render();
});

setInterval(() => {
  desk.tick();
  presence.tick();
  townDesk.tick();
  if (tab === "log") log.tick();
}, 1000);

async function start() {
  applyI18n();
  renderLangSwitch();
  renderAvailability();
  desk.render();
  try {
    await signedIn(await api.me());
  } catch (e) {
    if (e.status !== 401) console.warn("yijian: /api/me failed", e);
    showLogin();
  }
}

start();
