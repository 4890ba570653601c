// Console entry point: sign-in, navigation, the live-update stream, and the confirmation dialog
// every control action goes through.
import { ApiError, events, get, signIn, signOut } from "./api.js";
import { VIEWS } from "./views.js";

const $ = (id) => document.getElementById(id);
export const session = { tokenId: null, scopes: new Set(), subject: null, view: "overview", live: null };
export const can = (scope) => session.scopes.has(scope);

export function notify(text) { $("notice").textContent = text; }

// `preset` ({reason, ticket}): the action's form already holds both (an incident's note, summary or
// title, and its ticket), so the dialog only asks to confirm; otherwise it asks for both.
export function confirmAction(text, preset = null) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-fields").hidden = preset !== null;
  for (const id of ["confirm-reason", "confirm-ticket"]) {
    $(id).value = "";
    $(id).required = preset === null; // a hidden required field would block the submit
  }
  $("confirm-error").textContent = "";
  return new Promise((resolve) => {
    const done = (value) => { cleanup(); dialog.close(); resolve(value); };
    const onSubmit = (event) => {
      event.preventDefault();
      if (preset !== null) { done(preset); return; }
      const reason = $("confirm-reason").value.trim(), ticket = $("confirm-ticket").value.trim();
      if (!reason || !ticket) { $("confirm-error").textContent = "reason and ticket are both required"; return; }
      done({ reason, ticket });
    };
    const onCancel = () => done(null);
    const cleanup = () => {
      $("confirm-form").removeEventListener("submit", onSubmit);
      $("confirm-cancel").removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
    };
    $("confirm-form").addEventListener("submit", onSubmit);
    $("confirm-cancel").addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    $(preset === null ? "confirm-reason" : "confirm-ok").focus();
  });
}

// The decision-log entry an action produced: the newest entry of that kind under that ticket, or
// with `keep`, the newest of that kind among the last 50 that `keep` accepts.
export async function entryFor(kind, ticket, keep = null) {
  const page = await get("/v1/decision-log/entries", keep === null ? { kind, ticket, limit: 1 } : { kind, limit: 50 });
  const entry = keep === null ? page.items[0] : page.items.find((e) => keep(e.entry));
  return entry ? `decision-log entry seq ${entry.seq} (line ${entry.line}, ${entry.hash})` : "no decision-log entry found";
}

let rendering = 0;

export async function show(name) {
  session.view = name;
  const mine = ++rendering; // a slower, older render must not replace a newer view
  for (const b of document.querySelectorAll("nav button")) {
    if (b.dataset.view === name) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  const target = $("view");
  try {
    const content = await VIEWS[name]();
    if (mine === rendering) target.replaceChildren(...[content].flat().filter((c) => c !== null && c !== undefined));
  } catch (error) {
    if (mine !== rendering) return;
    target.replaceChildren(document.createTextNode(error instanceof ApiError ? error.message : String(error)));
    if (error instanceof ApiError && error.status === 401) leave("session expired or token invalid");
  }
}

function startLive() {
  const controller = new AbortController();
  session.live = controller;
  const status = $("live");
  let fills = 0;
  events((name, data) => {
    if (name === "state") {
      status.textContent = `live: ${data.verdict}; new orders ${data.new_orders_allowed ? "allowed" : "blocked"}; ${fills} new fills`;
      if (["overview", "strategies", "killswitch"].includes(session.view) && !document.querySelector("dialog[open]")) show(session.view);
    } else if (name === "fill") {
      fills += 1;
      status.textContent = status.textContent.replace(/\d+ new fills/, `${fills} new fills`);
    } else if (name === "alerts" && session.view === "alerts") {
      show("alerts");
    }
  }, controller.signal).catch((error) => {
    if (!controller.signal.aborted) status.textContent = `live updates stopped: ${error.message}`;
  });
}

function leave(message) {
  if (session.live) session.live.abort();
  signOut();
  session.scopes = new Set();
  $("app").hidden = true;
  $("sign-in").hidden = false;
  $("sign-out").hidden = true;
  $("whoami").textContent = "";
  $("sign-in-error").textContent = message || "";
}

async function enter(event) {
  event.preventDefault();
  const secret = $("token").value;
  $("token").value = "";
  signIn(secret);
  try {
    const me = await get("/v1/whoami");
    session.tokenId = me.token_id;
    session.scopes = new Set(me.scopes);
    session.subject = me.client_subject;
  } catch (error) {
    leave(error instanceof ApiError ? error.message : String(error));
    return;
  }
  $("whoami").textContent = `signed in as token ${session.tokenId} (certificate ${session.subject || "none"}); scopes: ${[...session.scopes].join(", ")}`;
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("sign-in-error").textContent = "";
  startLive();
  await show("overview");
}

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", enter);
  $("sign-out").addEventListener("click", () => leave("signed out"));
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => show(b.dataset.view));
});
