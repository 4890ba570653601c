// The six views. Reads go to the /v1 read API; writes go to the existing control endpoints, each
// after the confirmation dialog (reason + ticket), and name the decision-log entry they produced.
// Incident changes carry their own why (title, note, summary) and ticket (the incident's id).
import { ApiError, get, request } from "./api.js";
import { can, confirmAction, entryFor, notify, show } from "./app.js";
import { card, field, h, select, sparkline, state, table } from "./dom.js";

const WRITE = "runtime.schedule.write";
const OVERRIDE = "runtime.override.write";
const SILENCE = "alerts.write";
const INCIDENT = "incidents.write";
const SEVERITIES = ["critical", "high", "medium", "low"];
const RESOLUTIONS = ["restored", "mitigated", "false_alarm"];
const age = (beat) => (beat ? `${Number(beat.heartbeat_age_seconds).toFixed(1)} s ago` : "no heartbeat");
const money = (v) => (v === null || v === undefined ? "-" : Number(v).toLocaleString("en", { maximumFractionDigits: 2 }));
const safe = async (promise, fallback) => { try { return await promise; } catch (e) { return fallback(e); } };

// `kind`: the decision-log kind to name the entry from (by the answer's ticket), or a function of
// the action's result that finds the entry; `preset`: see confirmAction.
async function act(label, kind, run, preset = null) {
  const answer = await confirmAction(label, preset);
  if (!answer) return;
  try {
    const result = await run(answer);
    notify(`${label}: done; ${await (typeof kind === "function" ? kind(result) : entryFor(kind, answer.ticket))}`);
  } catch (error) {
    notify(`${label}: refused (${error instanceof ApiError ? error.message : error})`);
  }
  await show(document.querySelector("nav button[aria-current]").dataset.view);
}

function stateCards(st) {
  const ks = st.kill_switch;
  return [
    card("Trading state", h("p", { class: "big" }, state(st.verdict, st.new_orders_allowed)),
      h("p", {}, `new orders ${st.new_orders_allowed ? "allowed" : "blocked"}`)),
    card("Kill switch", h("p", { class: "big" }, state(ks.requested ? "engaged" : "clear", !ks.requested)),
      h("p", {}, `observed by scheduler: ${ks.observed === null ? "no scheduler running" : ks.observed ? "halted" : "trading"}`)),
    card("Heartbeat", h("p", { class: "big" }, age(st.heartbeat)),
      h("p", {}, st.heartbeat ? `pid ${st.heartbeat.pid}, ${st.heartbeat.cycles} cycles` : "")),
  ];
}

async function overview() {
  const [st, pnl, equity, incidents, alerts] = await Promise.all([
    get("/v1/state"), get("/v1/pnl"), get("/v1/equity", { max_points: 200 }),
    safe(get("/v1/incidents", { open_only: true }), () => ({ items: [] })),
    safe(get("/v1/alerts"), (e) => ({ configured: true, error: e.message, alerts: [] })),
  ]);
  const firing = alerts.alerts.filter((a) => (a.status || {}).state !== "suppressed");
  return [
    h("h2", {}, "Overview"),
    h("div", { class: "cards" },
      card("Account equity", h("p", { class: "big", id: "equity" }, money(pnl.equity))),
      ...stateCards(st),
      card("Open incidents", h("p", { class: "big" }, String(incidents.items.length))),
      card("Firing alerts", h("p", { class: "big" }, alerts.configured ? String(firing.length) : "n/a"),
        h("p", {}, alerts.error || (alerts.configured ? "" : "no Alertmanager configured")))),
    h("h3", {}, "Equity"), sparkline(equity.points),
    h("h3", {}, "PnL per strategy"),
    table("PnL per strategy", [
      ["Strategy", (r) => r.strategy], ["Realized", (r) => money(r.realized_pnl)],
      ["Unrealized", (r) => money(r.unrealized_pnl)], ["Fees", (r) => money(r.fees)],
      ["Fills", (r) => r.fills], ["Status", (r) => state(r.disabled ? "disabled" : "enabled", !r.disabled)],
    ], pnl.strategies),
  ];
}

async function strategies() {
  const [pnl, st, orders, fills] = await Promise.all([get("/v1/pnl"), get("/v1/state"),
    get("/v1/orders", { limit: 20 }), get("/v1/fills", { limit: 20 })]);
  const controls = (r) => {
    if (!can(WRITE)) return "read-only";
    const disabled = (st.strategies[r.strategy] || {}).requested === "disabled";
    const verb = disabled ? "enable" : "disable";
    return h("button", {
      type: "button", class: disabled ? "" : "danger", "aria-label": `${verb} ${r.strategy}`,
      onclick: () => act(`${verb} ${r.strategy}`, "strategy_state",
        ({ reason, ticket }) => request("POST", `/v1/strategies/${r.strategy}/${verb}`, { body: { reason, ticket } })),
    }, verb[0].toUpperCase() + verb.slice(1));
  };
  return [
    h("h2", {}, "Strategies"),
    table("Strategies", [
      ["Strategy", (r) => r.strategy],
      ["Requested", (r) => (st.strategies[r.strategy] || {}).requested || "-"],
      ["Observed", (r) => (st.strategies[r.strategy] || {}).observed || "-"],
      ["Allocation", (r) => `${(r.allocation_ratio * 100).toFixed(1)} %`],
      ["Used / allowed", (r) => `${money(r.exposure)} / ${money(r.allocation_allowed)}`],
      ["Fills", (r) => r.fills], ["Action", controls],
    ], pnl.strategies),
    h("h3", {}, "Recent orders"),
    table("Recent orders", [
      ["Time", (o) => o.at || ""], ["Strategy", (o) => o.strategy], ["Symbol", (o) => o.symbol],
      ["Side", (o) => o.side], ["Quantity", (o) => o.quantity], ["Price", (o) => (o.price === null ? "market" : money(o.price))],
      ["Status", (o) => o.status], ["Client order id", (o) => o.client_order_id],
    ], orders.items),
    h("h3", {}, "Recent fills"),
    table("Recent fills", [
      ["Time", (f) => f.at], ["Strategy", (f) => f.strategy], ["Symbol", (f) => f.symbol],
      ["Side", (f) => f.side], ["Quantity", (f) => f.quantity], ["Price", (f) => money(f.price)],
      ["Client order id", (f) => f.client_order_id],
    ], fills.items),
  ];
}

// The override's policy for the next engage; kept across the live re-renders of the view.
const policy = { positions: "", keepOrders: false };
const policyText = (p) => `positions: ${p.positions || "as configured"}; open orders: ${p.keepOrders ? "kept" : "as configured"}`;

function policyControls() {
  const positions = h("select", { id: "ks-positions", name: "ks-positions", onchange: (e) => { policy.positions = e.target.value; } },
    [["", "as configured (runtime.kill_switch.positions)"], ["hold", "hold"], ["reduce", "reduce only"], ["flatten", "flatten"]]
      .map(([v, text]) => h("option", { value: v, selected: v === policy.positions }, text)));
  const keep = h("input", { id: "ks-keep-orders", name: "ks-keep-orders", type: "checkbox", checked: policy.keepOrders,
    onchange: (e) => { policy.keepOrders = e.target.checked; } });
  return h("div", { class: "filters" },
    h("div", {}, h("label", { for: "ks-positions" }, "Positions while halted"), positions),
    h("div", {}, h("label", { for: "ks-keep-orders" }, "Keep open orders"), keep));
}

function activePolicy(ks) {
  const active = ks.overrides.filter((o) => o.active && !o.malformed);
  if (!active.length) return state("no override in force", null);
  return active.map((o) => `${o.component}: positions ${o.on_disable.positions}, ${o.on_disable.cancel_open_orders ? "cancel" : "keep"} open orders`).join("; ");
}

async function killswitch() {
  const st = await get("/v1/state");
  const ks = st.kill_switch;
  const actions = [];
  if (can(OVERRIDE)) {
    actions.push(policyControls());
    actions.push(h("button", { type: "button", class: "danger", onclick: () => {
      const chosen = { ...policy };
      const body = { force: true, ...(chosen.positions ? { positions: chosen.positions } : {}), ...(chosen.keepOrders ? { cancel_open_orders: false } : {}) };
      act(`engage the kill switch (${policyText(chosen)})`, "override",
        ({ reason, ticket }) => request("POST", "/v1/override", { body: { reason, ticket, ...body } }));
    } }, "Engage kill switch"));
    actions.push(h("button", { type: "button", onclick: () => act("clear the kill switch", "override",
      ({ reason, ticket }) => request("DELETE", "/v1/override", { query: { reason, ticket } })) }, "Clear kill switch"));
  } else {
    actions.push(h("p", { id: "override-denied" }, "Your token lacks runtime.override.write: it cannot engage or clear the kill switch."));
  }
  return [
    h("h2", {}, "Kill switch"),
    h("div", { class: "cards" }, ...stateCards(st)),
    h("h3", {}, "Runbook checks (live)"),
    table("Runbook checks", [["Check", (r) => r[0]], ["Result", (r) => r[1]]], [
      ["override requested (file present)", state(ks.requested ? "yes" : "no", !ks.requested)],
      ["override file malformed", state(ks.malformed ? "yes (fails closed)" : "no", !ks.malformed)],
      ["override policy (on engage)", activePolicy(ks)],
      ["observed halt (scheduler heartbeat)", ks.observed === null ? state("no scheduler running", null) : state(ks.observed ? "halted" : "trading", !ks.observed)],
      ["overrides directory not world-writable", st.file_mode_ok === null ? state("directory missing", null) : state(st.file_mode_ok ? "ok" : "world-writable", st.file_mode_ok)],
      ["global trading state", (st.scopes.global || {}).state || "active"],
    ]),
    h("h3", {}, "Engage or clear"),
    h("div", { class: "buttons" }, ...actions),
  ];
}

async function decisionLog(filters = { log: "operations" }) {
  const [page, head] = await Promise.all([
    get("/v1/decision-log/entries", { ...filters, limit: 50 }), get("/v1/decision-log/head", { log: filters.log }),
  ]);
  const detail = h("pre", { id: "entry-detail", tabindex: "0", "aria-label": "selected entry" }, "select an entry");
  const form = h("form", { class: "filters", onsubmit: async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(event.target).entries());
    document.getElementById("view").replaceChildren(...await decisionLog(data));
  } },
  select("log", "Log", ["operations", "trading"], filters.log),
  field("kind", "Kind", { value: filters.kind || "" }), field("status", "Status", { value: filters.status || "" }),
  field("strategy", "Strategy", { value: filters.strategy || "" }), field("ticket", "Ticket", { value: filters.ticket || "" }),
  h("button", { type: "submit" }, "Filter"));
  return [
    h("h2", {}, "Decision log"),
    card("Chain", h("p", { id: "chain" }, state(head.verified ? "chain verified" : `chain broken at line ${head.first_error_line}: ${head.reason}`, head.verified),
      ` · ${head.entries} entries · head `, h("code", { id: "head" }, head.head),
      " ", h("button", { type: "button", onclick: () => navigator.clipboard.writeText(head.head).then(() => notify("head copied")) }, "Copy head")),
    h("p", {}, head.anchor ? `anchor: seq ${head.anchor.seq}, ${head.anchor.head}` : `anchor: ${head.anchor_problem || "none written yet"}`)),
    form,
    table("Entries", [
      ["Seq", (e) => h("button", { type: "button", "aria-label": `open entry ${e.seq}`, onclick: () => { detail.textContent = JSON.stringify(e.entry, null, 2); } }, String(e.seq))],
      ["Time", (e) => e.timestamp], ["Kind", (e) => e.kind], ["Status", (e) => e.status],
      ["Strategy", (e) => e.strategy || ""], ["Ticket", (e) => e.ticket || ""],
      ["Verification", (e) => state(e.verification, e.verification === "verified")],
    ], page.items),
    h("p", {}, `${page.page.total} matching entries`), detail,
  ];
}

function rollbackSection(rb) {
  const title = h("h3", {}, "Rollback checklist");
  if (rb.error) return [title, h("p", { class: "error", id: "rollback" }, rb.error)];
  if (!rb.present) return [title, h("p", { id: "rollback" }, "No rollback recorded (tradeops rollback start).")];
  const done = rb.steps.filter((s) => s.done).length;
  return [title,
    h("p", { id: "rollback" }, `${rb.ticket}: ${rb.target}${rb.strategy ? ` ${rb.strategy}` : ""}, ${rb.status}; `,
      `${done} of ${rb.steps.length} steps done; next: ${rb.next_step || "none"} (by ${rb.requested_by}: ${rb.reason})`),
    table("Rollback checklist", [
      ["Phase", (s) => s.phase], ["Step", (s) => s.step],
      ["Done", (s) => state(s.done ? "done" : s.step === rb.next_step ? "next" : "pending", s.done ? true : null)],
      ["At", (s) => s.at || ""], ["Result", (s) => Object.entries(s.result).map(([k, v]) => `${k}=${v}`).join(", ")],
    ], rb.steps)];
}

const textarea = (id, label, attrs = {}) =>
  h("div", {}, h("label", { for: id }, label), h("textarea", { id, name: id, rows: 2, maxlength: 500, required: true, ...attrs }));
const value = (id) => document.getElementById(id).value.trim();
// The incident entry of this change: the newest kind=incident entry with this id and status.
const incidentEntry = (status) => (inc) => entryFor("incident", null,
  (e) => (e.artefacts || {}).incident_id === inc.id && status.includes(e.status));
let selected = null; // the incident whose detail is shown; kept across re-renders after an action

function incidentForm(label, button, fields, submit) {
  return h("form", { class: "filters", "aria-label": label, onsubmit: (event) => {
    event.preventDefault();
    submit();
  } }, ...fields, h("button", { type: "submit" }, button));
}

function openForm() {
  return [h("h3", {}, "Open an incident"), incidentForm("open an incident", "Open incident", [
    field("incident-title", "Title", { required: true, maxlength: 500 }),
    select("incident-severity", "Severity", SEVERITIES, "high"),
    field("incident-ticket", "Incident ticket", { required: true, maxlength: 100 }),
  ], () => {
    const title = value("incident-title"), ticket = value("incident-ticket"), severity = value("incident-severity");
    if (!title || !ticket) { notify("open incident: title and ticket must not be blank"); return; }
    act(`open incident ${ticket} (${severity}): ${title}`, incidentEntry(["opened"]), async () => {
      const inc = await request("POST", "/v1/incidents", { body: { title, severity, ticket } });
      selected = inc.id;
      return inc;
    }, { reason: title, ticket });
  })];
}

function incidentActions(inc) {
  if (!can(INCIDENT)) {
    return [h("p", { id: "incident-denied" }, "Your token lacks incidents.write: it cannot open, annotate or close incidents.")];
  }
  const path = `/v1/incidents/${encodeURIComponent(inc.id)}`;
  const noteForm = incidentForm(`add a note to ${inc.id}`, "Add note", [textarea("note-text", "Note")], () => {
    const text = value("note-text");
    if (!text) { notify("add note: the note must not be blank"); return; }
    act(`add a note to ${inc.id}: ${text}`, incidentEntry(["noted"]),
      () => request("POST", `${path}/notes`, { body: { text } }), { reason: text, ticket: inc.id });
  });
  if (inc.status !== "open") return [h("h4", {}, "Add a note"), noteForm];
  const closeForm = incidentForm(`close ${inc.id}`, "Close incident",
    [select("close-status", "Resolution", RESOLUTIONS, "restored"), textarea("close-summary", "Summary")], () => {
      const status = value("close-status"), summary = value("close-summary");
      if (!summary) { notify("close incident: the summary must not be blank"); return; }
      act(`close ${inc.id} as ${status}: ${summary}`, incidentEntry(["restored", "closed"]),
        () => request("POST", `${path}/close`, { body: { status, summary } }), { reason: summary, ticket: inc.id });
    });
  return [h("h4", {}, "Add a note"), noteForm, h("h4", {}, "Close the incident"), closeForm];
}

function incidentDetail(inc) {
  const closed = inc.closed_at ? `; closed ${inc.closed_at} as ${inc.resolution}` : "";
  return [h("h3", {}, `${inc.id}: ${inc.title}`),
    h("p", { id: "incident-status" }, `${inc.status}, severity ${inc.severity}, ticket ${inc.ticket || "-"}, opened by ${inc.opened_by}${closed}`),
    table("Timeline", [["At", (t) => t.at], ["Kind", (t) => t.kind], ["Status", (t) => t.status], ["What", (t) => t.what], ["By", (t) => t.by]], inc.timeline),
    h("h4", {}, "Notes"), table("Notes", [["At", (n) => n.at], ["By", (n) => n.by], ["Text", (n) => n.text]], inc.notes),
    ...incidentActions(inc)];
}

async function incidents() {
  const [page, rb] = await Promise.all([get("/v1/incidents", { limit: 50 }),
    safe(get("/v1/rollback"), (e) => ({ present: true, error: e.message, steps: [] }))]);
  const detail = h("div", { id: "incident-detail" });
  const open = async (id) => {
    selected = id;
    detail.replaceChildren(...incidentDetail(await get(`/v1/incidents/${encodeURIComponent(id)}`)));
  };
  if (selected !== null && page.items.some((i) => i.id === selected)) await open(selected);
  return [
    h("h2", {}, "Incidents"),
    table("Incidents", [
      ["Id", (i) => h("button", { type: "button", "aria-label": `show incident ${i.id}`, onclick: () => open(i.id) }, i.id)],
      ["Title", (i) => i.title], ["Severity", (i) => i.severity],
      ["Status", (i) => state(i.resolution ? `${i.status}: ${i.resolution}` : i.status, i.status !== "open")],
      ["Opened", (i) => i.opened_at],
    ], page.items),
    detail,
    ...(can(INCIDENT) ? openForm() : []),
    ...rollbackSection(rb),
  ];
}

async function alerts() {
  const view = await get("/v1/alerts");
  if (!view.configured) return [h("h2", {}, "Alerts"), h("p", {}, "No Alertmanager configured (observability.alertmanager.url).")];
  const silenceButton = can(SILENCE)
    ? h("button", { type: "button", class: "danger", onclick: () => act("silence the Stage4 alerts", "alert_silence",
      ({ reason, ticket }) => request("POST", "/v1/silences", { body: { reason, ticket } })) }, "Silence Stage4 alerts")
    : h("p", { id: "silence-denied" }, "Your token lacks alerts.write: it cannot create or expire silences.");
  const expireButton = (s) => ((s.status || {}).state === "expired" || !can(SILENCE) ? "" : h("button", {
    type: "button", "aria-label": `expire silence ${s.id}`,
    onclick: () => act(`expire silence ${s.id}`, "alert_silence",
      ({ reason, ticket }) => request("DELETE", `/v1/silences/${encodeURIComponent(s.id)}`, { query: { reason, ticket } })),
  }, "Expire"));
  return [
    h("h2", {}, "Alerts"),
    view.error ? h("p", { class: "error" }, view.error) : null,
    h("div", { class: "buttons" }, silenceButton),
    h("h3", {}, "Active alerts"),
    table("Active alerts", [
      ["Alert", (a) => (a.labels || {}).alertname], ["State", (a) => (a.status || {}).state],
      ["Since", (a) => a.startsAt], ["Labels", (a) => JSON.stringify(a.labels)],
    ], view.alerts),
    h("h3", {}, "Silences"),
    table("Silences", [
      ["Id", (s) => s.id], ["State", (s) => (s.status || {}).state], ["Ends", (s) => s.endsAt],
      ["By", (s) => s.createdBy], ["Comment", (s) => s.comment], ["Action", expireButton],
    ], view.silences),
  ];
}

export const VIEWS = { overview, strategies, killswitch, log: () => decisionLog(), incidents, alerts };
