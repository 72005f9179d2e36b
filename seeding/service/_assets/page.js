"use strict";
// The service's page: runs (live over their event streams), dumps with their hand-out and pool
// state, and a form to start a run of a plan in --plans-dir. Everything goes through api.js.

const REFRESH_MS = 2000;
const LIVE = new Set(["queued", "running"]);
const RESUMABLE = new Set(["failed", "cancelled", "interrupted"]);
const streams = new Map(); // run id -> AbortController of its event stream
let hasPools = false; // whether this service serves GET /v1/dumps/{scenario}/pool (its OpenAPI says)

const $ = (selector) => document.querySelector(selector);

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function say(message, kind) {
  const box = $("#message");
  box.textContent = message || "";
  box.className = kind || "error";
  box.hidden = !message;
}

function number(value) {
  return Number(value || 0).toLocaleString("en-US");
}

function seconds(value) {
  if (value === null || value === undefined) return "";
  if (value < 120) return value.toFixed(value < 10 ? 2 : 1) + " s";
  if (value < 7200) return (value / 60).toFixed(1) + " min";
  return (value / 3600).toFixed(1) + " h";
}

function age(value) {
  if (value === null || value === undefined) return "?";
  if (value < 90) return Math.round(value) + " s";
  if (value < 5400) return Math.round(value / 60) + " min";
  if (value < 172800) return Math.round(value / 3600) + " h";
  return Math.round(value / 86400) + " d";
}

function elapsed(run) {
  if (run.wall_s !== null && run.wall_s !== undefined && !LIVE.has(run.state)) return run.wall_s;
  const end = run.finished_at ? Date.parse(run.finished_at) : Date.now();
  return Math.max((end - Date.parse(run.started_at)) / 1000, 0);
}

// The service's figure: the last attempt's calls over its own wall (a resumed run's calls add up
// over attempts, its wall is the last one's), so the page never divides the two itself.
function rate(run) {
  return run.calls_per_s === null || run.calls_per_s === undefined ? "" : number(Math.round(run.calls_per_s)) + " calls/s";
}

// --- runs ------------------------------------------------------------------------------------

function runRow(run) {
  const took = elapsed(run);
  const share = run.planned ? run.done / run.planned : 0;
  const bar = element("progress", { max: run.planned || 1, value: run.done });
  const progress = element(
    "td",
    { class: "wide" },
    bar,
    element("span", { class: "muted" }, ` ${number(run.done)} / ${number(run.planned)} (${Math.floor(share * 100)}%)`),
  );
  const outcome = run.error
    ? element("span", { class: "error" }, run.error)
    : element("code", {}, run.dump || "");
  const actions = element("td", { class: "actions" });
  if (LIVE.has(run.state)) {
    actions.append(element("button", { class: "cancel", type: "button", onclick: () => act("DELETE", run.id, "") }, "Cancel"));
  } else if (RESUMABLE.has(run.state)) {
    actions.append(
      element("button", { class: "resume", type: "button", onclick: () => act("POST", run.id, "/resume") }, "Resume"),
    );
  }
  return element(
    "tr",
    { id: "run-" + run.id, "data-state": run.state },
    element("td", {}, element("code", { title: run.id }, run.id.slice(0, 8))),
    element("td", {}, run.scenario),
    element("td", {}, element("span", { class: "state state-" + run.state }, run.state)),
    progress,
    element("td", { class: "num" }, number(run.calls)),
    element("td", { class: "num rate nowrap" }, rate(run)),
    element("td", { class: "num" }, number(run.retries)),
    element("td", { class: "nowrap" }, seconds(took)),
    element("td", { class: "outcome" }, outcome),
    actions,
  );
}

// A row is redrawn only when what it shows changed (a live run's wall changes every second).
function place(old, row, insert) {
  row.dataset.shown = row.textContent;
  if (!old) insert(row);
  else if (old.dataset.shown !== row.dataset.shown) old.replaceWith(row);
}

function showRun(run) {
  const body = $("#runs tbody");
  place(document.getElementById("run-" + run.id), runRow(run), (row) => body.prepend(row)); // newest first
  $("#runs-empty").hidden = true;
  if (LIVE.has(run.state)) follow(run.id);
}

// Live progress from the run's event stream (progress events, then end); the list refresh is the fallback.
function follow(id) {
  if (streams.has(id)) return;
  const controller = new AbortController();
  streams.set(id, controller);
  withToken(() =>
    api.events(
      "/v1/runs/" + id + "/events",
      (name, run) => {
        showRun(run);
        if (name === "end") loadDumps();
      },
      controller.signal,
    ),
  )
    .catch(() => {})
    .finally(() => streams.delete(id));
}

async function loadRuns() {
  const data = await withToken(() => api.call("GET", "/v1/runs"));
  const body = $("#runs tbody");
  const seen = new Set();
  for (const run of data.runs) {
    seen.add("run-" + run.id);
    if (!streams.has(run.id)) showRun(run);
  }
  for (const row of [...body.children]) if (!seen.has(row.id)) row.remove();
  $("#runs-empty").hidden = data.runs.length > 0;
}

async function act(method, id, suffix) {
  try {
    const data = await withToken(() => api.call(method, "/v1/runs/" + id + suffix));
    say("");
    showRun(data.run);
  } catch (error) {
    say(error.message);
  }
}

// --- starting a run --------------------------------------------------------------------------

async function loadPlans() {
  const data = await withToken(() => api.call("GET", "/v1/plans"));
  const select = $("#plan-select");
  const chosen = select.value;
  select.replaceChildren();
  const broken = [];
  for (const plan of data.plans) {
    if (plan.error) {
      broken.push(plan.name);
      continue;
    }
    select.append(element("option", { value: plan.name, "data-users": plan.users }, `${plan.name} (${number(plan.users)} users)`));
  }
  if (chosen) select.value = chosen;
  $("#start-button").disabled = select.options.length === 0;
  $("#plans-note").textContent =
    (select.options.length ? "" : "No plans in the service's --plans-dir. ") +
    (broken.length ? "Unreadable plans: " + broken.join(", ") + " (see GET /v1/plans)." : "");
}

async function startRun(event) {
  event.preventDefault();
  const body = { plan: $("#plan-select").value };
  const users = $("#users-input").value.trim();
  if (users) body.users = Number(users);
  try {
    const data = await withToken(() => api.call("POST", "/v1/runs", body));
    say("Started run " + data.run.id.slice(0, 8) + " of " + data.run.scenario + ".", "info");
    showRun(data.run);
  } catch (error) {
    say(error.message);
  }
}

// --- dumps -----------------------------------------------------------------------------------

async function dumpRow(dump) {
  let left = "";
  let pool = "—";
  if (!dump.error) {
    try {
      const detail = (await api.call("GET", "/v1/dumps/" + encodeURIComponent(dump.scenario))).dump;
      left = `${number(detail.left)} of ${number(dump.users)}`;
    } catch (error) {
      left = error.message;
    }
    if (hasPools) {
      try {
        const state = (await api.call("GET", "/v1/dumps/" + encodeURIComponent(dump.scenario) + "/pool")).pool;
        pool = `${number(state.free)} left · ${number(state.leased)} leased · ${number(state.quarantined)} quarantined`;
      } catch (error) {
        pool = "—";
      }
    }
  }
  const target = dump.transport ? `${dump.transport} at ${dump.target}` : dump.target || "";
  return element(
    "tr",
    { id: "dump-" + dump.scenario },
    element("td", {}, dump.scenario),
    element("td", { class: "num" }, dump.error ? "" : number(dump.users)),
    element("td", {}, dump.error ? "" : age(dump.age_s)),
    element("td", {}, dump.error ? element("span", { class: "error" }, dump.error) : target),
    element("td", { class: "left" }, left),
    element("td", { class: "pool" }, pool),
  );
}

async function loadDumps() {
  const data = await withToken(() => api.call("GET", "/v1/dumps"));
  const rows = await Promise.all(data.dumps.map(dumpRow));
  const body = $("#dumps tbody");
  const wanted = new Set(rows.map((row) => row.id));
  for (const row of [...body.children]) if (!wanted.has(row.id)) row.remove();
  for (const row of rows) place(document.getElementById(row.id), row, (made) => body.append(made));
  $("#dumps-empty").hidden = rows.length > 0;
}

// --- start-up --------------------------------------------------------------------------------

async function refresh() {
  try {
    await Promise.all([loadRuns(), loadDumps()]);
  } catch (error) {
    say(error.message);
  }
}

async function start() {
  $("#start-form").addEventListener("submit", startRun);
  $("#plan-select").addEventListener("change", () => {
    const option = $("#plan-select").selectedOptions[0];
    $("#users-input").placeholder = option ? option.dataset.users : "the plan's";
  });
  try {
    const spec = await withToken(() => api.call("GET", "/openapi.json"));
    hasPools = "/v1/dumps/{scenario}/pool" in spec.paths;
    await loadPlans();
    $("#plan-select").dispatchEvent(new Event("change"));
  } catch (error) {
    say(error.message);
  }
  await refresh();
  document.body.dataset.ready = "yes";
  setInterval(refresh, REFRESH_MS);
}

start();
