// Wiring: login and logout, the header, the tabs, and the hub's socket with every
// message it brings, handled in one switch. The parts wired here live in their own
// modules (the sign-in form in login.js, the availability switch in availability.js,
// the tabs in tabs.js, notices in toast.js).

import * as api from "./api.js";
import { AuditPanel } from "./audit.js";
import { AvailabilitySwitch } from "./availability.js";
import { CallMedia } from "./call.js";
import { Desk } from "./desk.js";
import { $, closeDialogs } from "./dom.js";
import { FleetPanel } from "./fleet.js";
import { applyI18n, getLang, onLangChange, setLang, t } from "./i18n.js";
import { initLogin, showLoginForm } from "./login.js";
import { Presence } from "./presence.js";
import { RequestForm } from "./request.js";
import { Review } from "./review.js";
import { Ringer } from "./ringer.js";
import { Signalling } from "./signalling.js";
import { Tabs, VIEWS } from "./tabs.js";
import { hubErrorText, toast } from "./toast.js";
import { TownDesk } from "./towndesk.js";

let operator = null; // {username, town_id, town_name, role} while logged in

// --- the connection banner -------------------------------------------------------------

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
  onResume: () => availSwitch.set("available"),
  onChange: () => desk.render(),
});
/** Every message from the hub, in one place (the types are docs/protocol.md's). */
function onHubMessage(msg) {
  switch (msg.type) {
    case "welcome":
      media.setIceServers(msg.ice_servers);
      if (msg.operator) setOperator(msg.operator);
      presence.reset(); // the hub says the state again right after
      desk.welcome(msg); // and sends again what it has not confirmed
      townDesk.connected();
      availSwitch.render();
      availSwitch.welcome(msg); // available again after a reconnect, if it was before
      break;
    case "availability":
      availSwitch.confirmed(msg.state);
      desk.setAvailability(msg.state);
      availSwitch.render();
      break;
    case "presence":
      presence.update(msg, Boolean(desk.ringing));
      desk.render();
      break;
    case "ring":
      // A villager waiting comes first: bring the desk forward.
      closeDialogs();
      showTab("desk");
      presence.ringing(); // the ring is the hub's word on it: no `presence` comes with it
      desk.ring(msg.call);
      break;
    case "ring_stop":
      desk.ringStop(msg);
      break;
    case "callback_ringing":
      desk.callbackRinging(msg.call);
      showTab("desk");
      break;
    case "answered":
      desk.answered(msg.call);
      showTab("desk");
      break;
    case "sdp":
      if (msg.description && msg.description.type === "offer") media.handleOffer(msg.call_id, msg.description);
      else console.warn("yijian: ignored an sdp that is not an offer", msg);
      break;
    case "ice":
      media.handleIce(msg.call_id, msg.candidate);
      break;
    case "call_ended":
      desk.callEnded(msg);
      break;
    case "team":
      townDesk.pushed(msg);
      break;
    case "error": {
      const resending = desk.hubError(msg); // the desk says so; no notice
      if (resending) break;
      if (!msg.ref || userRefs.delete(msg.ref)) toast(hubErrorText(msg), "error");
      else console.warn("yijian: hub refused a background message", msg);
      break;
    }
    case "pong":
      break;
    default:
      console.error(`yijian: unknown message type from hub: ${JSON.stringify(msg.type)}`, msg);
  }
}

const signalling = new Signalling({
  onMessage: onHubMessage,
  onStatus: (state) => showBanner(state),
  onAuthLost: () => {
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
    closeDialogs();
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
const availSwitch = new AvailabilitySwitch({ send, current: () => desk.availability, ringer, presence, toast });

// 值班情况 and the queue settings (towndesk.js).
const townDesk = new TownDesk({
  send,
  toast,
  openCall: (id) => log.openDetail(id),
  directory: review.directory,
  onMaxMissed: (n) => presence.setMaxMissed(n),
});

// 设备: the town's kiosks, polled while the tab shows (fleet.js).
const fleet = new FleetPanel({ view: $("fleet-view"), tab: $("tab-fleet"), openCall: (id) => log.openDetail(id) });

// 审计日志: who did what, for supervisors and admins (audit.js).
const audit = new AuditPanel({ tab: $("tab-audit") });

// --- header -----------------------------------------------------------------------

function setOperator(info) {
  operator = info;
  $("town-name").textContent = info.town_name || info.town_id || "";
  $("operator-name").textContent = info.username;
}

function renderLangSwitch() {
  for (const btn of document.querySelectorAll(".lang-switch button")) {
    btn.setAttribute("aria-pressed", String(btn.dataset.lang === getLang()));
  }
}

for (const btn of document.querySelectorAll(".lang-switch button")) {
  btn.addEventListener("click", () => setLang(btn.dataset.lang));
}

const tabs = new Tabs({
  // 值班情况's fallback and the fleet's polling ask the hub only while they show
  onShow: (name) => {
    townDesk.setVisible(name === "desk");
    fleet.setVisible(name === "fleet");
    audit.setVisible(name === "audit");
  },
  onClick: (name) => review.shown(name),
});
const showTab = (name) => tabs.show(name);

// --- signing in and out -------------------------------------------------------------

function showLogin() {
  for (const id of [...Object.values(VIEWS), "tabs", "availability", "logout"]) $(id).hidden = true;
  $("town-name").textContent = "";
  $("operator-name").textContent = "";
  $("banner").hidden = true;
  showLoginForm();
}

async function signedIn(info) {
  setOperator(info);
  availSwitch.forget();
  $("login-view").hidden = true;
  for (const id of ["tabs", "availability", "logout"]) $(id).hidden = false;
  townDesk.signedIn(info);
  fleet.setOperator(info);
  audit.setOperator(info);
  desk.setAvailability("away");
  availSwitch.render();
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
  availSwitch.forget();
  signalling.stop();
  ringer.silence();
  media.end();
  desk.signedOut();
  presence.clear();
  townDesk.signedOut();
  fleet.setOperator(null);
  audit.setOperator(null);
  desk.setAvailability("away");
  requests.reset();
  review.signedOut();
  operator = null;
  showLogin();
}

initLogin({ beforeLogin: () => ringer.unlock(), onSignedIn: signedIn });

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
  availSwitch.render();
  showBanner(bannerState);
  presence.render();
  desk.render();
  requests.render();
  review.render();
  townDesk.render();
  fleet.render();
  audit.render();
});

setInterval(() => {
  desk.tick();
  presence.tick();
  townDesk.tick();
  fleet.tick();
  if (tabs.current === "log") log.tick();
}, 1000);

async function start() {
  applyI18n();
  renderLangSwitch();
  availSwitch.render();
  desk.render();
  try {
    await signedIn(await api.me());
  } catch (e) {
    if (e.status !== 401) console.warn("yijian: /api/me failed", e);
    showLogin();
  }
}

start();
