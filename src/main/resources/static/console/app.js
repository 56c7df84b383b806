// falgate's ops console: plain ES modules, no build step. It calls falgate's own /v1 API with the key the person
// signs in with, kept in this tab's sessionStorage only (never in a URL, a cookie or localStorage).
import uPlot from "/webjars/uplot/1.6.30/dist/uPlot.esm.js";

const KEY = "falgate.key";
const main = document.getElementById("main");
const nav = document.getElementById("nav");
const statusRegion = document.getElementById("status");
let me = null;            // {client, scopes, sandbox} of the signed-in key
let streams = [];         // live status streams of the page shown (aborted when it changes)
let shown = 0;            // which route is shown: a page whose data arrives after another was chosen shows nothing

// --- the API ------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function api(path, { method = "GET", body, accept = "application/json", signal, signingIn = false } = {}) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY)}`, Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    signal, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
  if (response.status === 401) {
    if (!signingIn) signOut("Your key was revoked or is no longer valid; sign in again.");
    throw new ApiError(401, null);
  }
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, problem);
  }
  if (accept !== "application/json" || response.status === 204) return response;
  return response.json();
}

const can = (scope) => me && (me.scopes.includes(scope) || me.scopes.includes("admin"));

// --- small DOM helpers (text only: nothing from the API is ever parsed as HTML) ----------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** The page being built is still the one asked for (the person may have moved on while data loaded). */
const current = (token) => token === shown;

function show(title, ...content) {
  main.replaceChildren(el("h2", { text: title, tabindex: "-1" }), ...content);
  document.title = `${title} · falgate console`;
  main.querySelector("h2").focus();
}

/** Runs an action of a control; a failure is shown in {@code place} (a 401 signs out), never lost. */
async function guarded(place, action) {
  try {
    await action();
  } catch (error) {
    if (error.status !== 401) {
      place.replaceChildren(problemBox(error));
      announce(error.message);
    }
  }
}

/** Only web links: a value from fal or a caller never becomes a javascript: or data: URL here. */
function safeHref(url) {
  try {
    const parsed = new URL(url, location.origin);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function announce(text) {
  statusRegion.textContent = text;
}

function problemBox(error) {
  const message = error.status === 429 ? `${error.message} Try again in a moment.` : error.message;
  const box = el("div", { class: "error", role: "alert" }, message);
  for (const fault of error.problem?.errors || []) box.append(el("div", {}, `${fault.field}: ${fault.message}`));
  return box;
}

const time = (iso) => (iso ? new Date(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "—");
const statusCell = (status) => el("span", { class: `status status-${status}` }, status);

// --- signing in and out -------------------------------------------------------------------------------------

function signInPage(message) {
  nav.hidden = true;
  const input = el("input", { id: "key", name: "key", type: "password", autocomplete: "off", required: true,
    spellcheck: "false" });
  const form = el("form", { "aria-describedby": "sign-in-help" },
    el("label", { for: "key" }, "API key", input),
    el("p", { id: "sign-in-help", class: "empty" }, "Kept in this browser tab only, until you sign out or close it."),
    el("button", { type: "submit" }, "Sign in"));
  const box = el("div", { class: "sign-in" }, message ? el("p", { class: "notice", role: "alert" }, message) : null,
    form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, input.value.trim());
    input.value = "";
    try {
      me = await api("/v1/me", { signingIn: true });
      navigate("#/jobs");
    } catch (error) {
      sessionStorage.removeItem(KEY);
      box.querySelector(".error")?.remove();
      box.prepend(problemBox(error.status === 401 ? new ApiError(401, { detail: "This key is not valid." }) : error));
    }
  });
  show("Sign in", box);
  input.focus();
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  me = null;
  stopStreams();
  signInPage(message);
}

document.getElementById("sign-out").addEventListener("click", () => signOut("Signed out."));

// --- routing ------------------------------------------------------------------------------------------------

async function route() {
  if (location.hash && !location.hash.startsWith("#/")) return; // an in-page link (the skip link)
  const token = ++shown;
  stopStreams();
  if (!sessionStorage.getItem(KEY)) return signInPage();
  if (!me) {
    try { me = await api("/v1/me"); } catch (error) { if (error.status !== 401) signInPage(error.message); return; }
    if (!current(token)) return;
  }
  nav.hidden = false;
  document.getElementById("who").textContent = `${me.client}${me.sandbox ? " (sandbox)" : ""} · ${me.scopes.join(", ")}`;
  const [, page = "jobs", rawId] = location.hash.split("?")[0].split("/");
  let id = rawId;
  try { id = rawId && decodeURIComponent(rawId); } catch { id = rawId; }
  const reads = can("jobs:read") || can("ops:read");
  for (const link of nav.querySelectorAll("a[data-page]")) {
    link.parentElement.hidden = link.dataset.needs ? !can(link.dataset.needs) : !reads;
    if (link.dataset.page === page) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  try {
    if (page === "spend" && can("ops:read")) await spendPage(token);
    else if (page === "budgets" && can("admin")) await budgetsPage(token);
    else if (page === "keys" && can("admin")) await keysPage(token);
    else if (!reads) show("Nothing to show", el("p", { class: "empty" },
      "This key may submit jobs but not read them; the console has nothing to show it."));
    else if (page === "jobs" && id) await jobPage(token, id);
    else await jobsPage(token);
  } catch (error) {
    if (error.status !== 401 && current(token)) show("Something went wrong", problemBox(error),
      el("p", {}, el("button", { type: "button", onclick: route }, "Try again")));
  }
}

window.addEventListener("hashchange", route);
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  (main.querySelector("h2") || main).focus();
});

/** Shows {@code hash}; the same one again is shown afresh (applying unchanged filters reloads them). */
function navigate(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

// --- live status (SSE over fetch, so the key travels in a header, never in a URL) --------------------------

function stopStreams() {
  streams.forEach((controller) => controller.abort());
  streams = [];
}

async function follow(jobId, onJob) {
  const controller = new AbortController();
  streams.push(controller);
  let ended = false;
  try {
    const response = await api(`/v1/jobs/${encodeURIComponent(jobId)}/events`, { accept: "text/event-stream",
      signal: controller.signal });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5)).join("\n");
        if (data) {
          const job = JSON.parse(data);
          onJob(job);
          ended = ["completed", "failed", "cancelled"].includes(job.status);
        }
      }
    }
  } catch (error) {
    if (error.status === 429 && !controller.signal.aborted) return poll(jobId, onJob, controller); // streams used up
    if (controller.signal.aborted) return;
  }
  // the server ended the stream before the job did: the key may have been revoked meanwhile
  if (!ended && !controller.signal.aborted) api("/v1/me").catch(() => {});
}

/** Without a free stream (each key holds at most 20 at once), a job is read again every 5 s instead. */
async function poll(jobId, onJob, controller) {
  while (!controller.signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    if (controller.signal.aborted) return;
    try {
      const job = await api(`/v1/jobs/${encodeURIComponent(jobId)}`, { signal: controller.signal });
      onJob(job);
      if (["completed", "failed", "cancelled"].includes(job.status)) return;
    } catch { return; }
  }
}

// --- jobs: history with filters, cursor paging and live status ---------------------------------------------

async function jobsPage(token) {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const form = el("form", { class: "filters", "aria-label": "Filter jobs" },
    el("label", { for: "f-status" }, "Status", el("select", { id: "f-status", name: "status" },
      ["", "queued", "submitted", "in_progress", "completed", "failed", "cancelled"].map((s) =>
        el("option", { value: s, selected: params.get("status") === s }, s || "any")))),
    can("ops:read") ? el("label", { for: "f-client" }, "Client",
      el("input", { id: "f-client", name: "client", value: params.get("client") || "" })) : null,
    el("label", { for: "f-from" }, "Created from (UTC)", el("input", { id: "f-from", name: "created_from", type: "date",
      value: params.get("created_from")?.slice(0, 10) || "" })),
    el("label", { for: "f-to" }, "Created before (UTC)", el("input", { id: "f-to", name: "created_to", type: "date",
      value: params.get("created_to")?.slice(0, 10) || "" })),
    el("label", { for: "f-limit" }, "Per page", el("select", { id: "f-limit", name: "limit" },
      ["25", "50", "100"].map((n) => el("option", { value: n, selected: (params.get("limit") || "50") === n }, n)))),
    el("label", { class: "inline", for: "f-sandbox" }, el("input", { id: "f-sandbox", name: "sandbox", type: "checkbox",
      checked: params.get("sandbox") === "true" }), "Sandbox jobs"),
    el("button", { type: "submit" }, "Apply"),
    el("button", { type: "button", class: "secondary", id: "csv" }, "Download CSV"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(`#/jobs?${filterQuery(form)}`);
  });
  const results = el("div", {});
  form.querySelector("#csv").addEventListener("click", () => guarded(results, () => downloadCsv(filterQuery(form, true))));
  const page = await api(`/v1/jobs?${filterQuery(form)}`);
  if (!current(token)) return;
  show("Jobs", form, results);
  renderJobs(results, filterQuery(form), page);
}

function filterQuery(form, forCsv = false) {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (!value || (forCsv && name === "limit")) continue;
    query.set(name, name.startsWith("created_") ? `${value}T00:00:00Z` : value);
  }
  if (form.querySelector("#f-sandbox").checked) query.set("sandbox", "true");
  return query.toString();
}

function renderJobs(results, query, page) {
  stopStreams();
  if (page.data.length === 0) {
    results.replaceChildren(el("p", { class: "empty" }, "No jobs match these filters."));
    announce("No jobs match these filters");
    return;
  }
  const rows = page.data.map((job) => jobRow(job));
  const table = el("div", { class: "table-wrap" }, el("table", {},
    el("caption", { class: "visually-hidden" }, "Jobs, newest first"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Job"), el("th", { scope: "col" }, "Client"),
      el("th", { scope: "col" }, "Status"), el("th", { scope: "col", class: "optional" }, "Created"),
      el("th", { scope: "col", class: "num" }, "Cost (USD)"))),
    el("tbody", {}, rows.map((row) => row.tr))));
  const pager = el("div", { class: "pager" });
  if (page.next_cursor) {
    const next = el("button", { type: "button", class: "secondary" }, "Next page");
    next.addEventListener("click", () => guarded(pager, async () => {
      const following = await api(`/v1/jobs?${query}&cursor=${encodeURIComponent(page.next_cursor)}`);
      renderJobs(results, query, following);
      results.querySelector("table")?.focus();
    }));
    pager.append(next);
  }
  table.querySelector("table").setAttribute("tabindex", "-1");
  results.replaceChildren(table, pager);
  announce(`${page.data.length} jobs shown`);
  // unfinished jobs update live (a few streams: each key may hold only 20 open, across all its tabs)
  rows.filter((row) => !["completed", "failed", "cancelled"].includes(row.job.status)).slice(0, 3)
    .forEach((row) => follow(row.job.id, (job) => row.update(job)));
}

function jobRow(job) {
  const status = el("td", {}, statusCell(job.status));
  const cost = el("td", { class: "num" }, job.cost_usd ?? "—");
  const tr = el("tr", { "data-job": job.id },
    el("td", {}, el("a", { href: `#/jobs/${job.id}` }, el("code", {}, job.id.slice(0, 8)), job.sandbox ? " (sandbox)" : "")),
    el("td", {}, job.client), status, el("td", { class: "optional" }, time(job.created_at)), cost);
  return { job, tr, update(next) { status.replaceChildren(statusCell(next.status)); cost.textContent = next.cost_usd ?? "—"; } };
}

async function downloadCsv(query) {
  const response = await api(`/v1/jobs?${query}`, { accept: "text/csv" });
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { href: url, download: "falgate-jobs.csv" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  announce("CSV downloaded");
}

// --- one job: its story, its video ---------------------------------------------------------------------------

async function jobPage(token, id) {
  const job = await api(`/v1/jobs/${encodeURIComponent(id)}`);
  if (!current(token)) return;
  const body = el("div", {});
  show(`Job ${job.id}`, el("p", {}, el("a", { href: "#/jobs" }, "← All jobs")), body);
  renderJob(body, job);
  if (!["completed", "failed", "cancelled"].includes(job.status)) follow(job.id, (next) => renderJob(body, next));
}

async function renderJob(body, job) {
  const facts = el("dl", { class: "facts" },
    el("dt", {}, "Status"), el("dd", {}, statusCell(job.status), job.sandbox ? " (sandbox)" : ""),
    el("dt", {}, "Client"), el("dd", {}, job.client),
    el("dt", {}, "Cost (USD)"), el("dd", {}, job.cost_usd ?? "not yet"),
    el("dt", {}, "fal request"), el("dd", {}, job.fal_request_id ? el("code", {}, job.fal_request_id) : "none yet"),
    el("dt", {}, "Attempts"), el("dd", {}, String(job.attempts)),
    el("dt", {}, "Callback"), el("dd", {}, job.callback_url ?? "none"));
  const timeline = el("ol", { class: "timeline" },
    [["Accepted", job.created_at], ["Sent to fal", job.submitted_at], ["Running at fal", job.started_at],
     [job.status === "completed" ? "Completed" : job.status === "failed" ? "Failed" : job.status === "cancelled" ? "Cancelled" : "Ends by",
      job.completed_at ?? job.deadline_at]]
      .filter(([, at]) => at).map(([what, at]) => el("li", {}, `${what}: ${time(at)}`)),
    job.cancel_requested_at ? el("li", {}, `Cancel asked: ${time(job.cancel_requested_at)}`) : null);
  const parts = [facts, el("h3", {}, "Timeline"), timeline, el("h3", {}, "Video"), videoOf(job)];
  if (job.error) {
    parts.push(el("h3", {}, "Error"), el("div", { class: "error" }, `${job.error.code}: ${job.error.message}`),
      job.error.fal_detail ? el("pre", {}, JSON.stringify(job.error.fal_detail, null, 2)) : null);
  }
  parts.push(el("h3", {}, "Input"), el("pre", {}, JSON.stringify(job.input, null, 2)));
  if (job.metadata) parts.push(el("h3", {}, "Metadata"), el("pre", {}, JSON.stringify(job.metadata, null, 2)));
  const callbacks = el("div", {});
  parts.push(el("h3", {}, "Callback attempts"), callbacks);
  body.replaceChildren(...parts);
  try {
    const log = await api(`/v1/jobs/${encodeURIComponent(job.id)}/callbacks`);
    const events = log.events.map((event) => el("p", {}, `${event.type}: ${event.status}`,
      event.last_error ? ` (last error: ${event.last_error})` : "", event.next_attempt_at ? `, next attempt ${time(event.next_attempt_at)}` : ""));
    callbacks.replaceChildren(...events, log.attempts.length === 0 ? el("p", { class: "empty" }, "No callback attempts.") :
      el("div", { class: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, ["Time", "Answer", "Duration", "Next attempt"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, log.attempts.map((a) => el("tr", {}, el("td", {}, time(a.attempted_at)),
          el("td", {}, a.status_code ? `HTTP ${a.status_code}` : a.error), el("td", { class: "num" }, `${a.duration_ms} ms`),
          el("td", {}, time(a.next_attempt_at))))))));
  } catch (error) {
    if (error.status !== 401) callbacks.replaceChildren(problemBox(error));
  }
}

function videoOf(job) {
  const video = job.result?.video;
  if (!video) return el("p", { class: "empty" }, job.status === "completed" ? "The result names no video." : "No video yet.");
  const archive = video.archive;
  if (archive?.status === "stored" && typeof archive.signed_url === "string" && archive.signed_url.startsWith("/v1/")) {
    // the signed URL plays without a key: a <video> element sends no Authorization header (valid for an hour:
    // open the job again to play it later)
    return el("video", { controls: true, preload: "metadata", src: archive.signed_url, "aria-label": "The job's video" });
  }
  const falUrl = safeHref(video.url);
  return el("div", {},
    el("p", { class: "notice" }, !archive ? "falgate keeps no copies here (the archive is off); fal's own link below expires with fal's retention."
      : archive.status === "failed"
        ? `falgate could not keep a copy (${archive.reason}); fal's own link below expires with fal's retention.`
        : "falgate is still copying the video; fal's own link below expires with fal's retention."),
    falUrl ? el("p", {}, el("a", { href: falUrl, rel: "noreferrer noopener", target: "_blank" }, "fal's video URL"))
      : el("p", { class: "empty" }, "fal's result names no web link."));
}

// --- spend: by day (a chart) and by client (a table) ---------------------------------------------------------

async function spendPage(token) {
  const now = new Date();
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const thisMonth = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
  const asked = params.get("month") || "";
  const month = /^\d{4}-(0[1-9]|1[0-2])$/.test(asked) ? asked : thisMonth;
  const form = el("form", { class: "filters", "aria-label": "Choose a month" },
    el("label", { for: "s-month" }, "Month (UTC)", el("input", { id: "s-month", name: "month", type: "month", value: month,
      required: true })),
    el("button", { type: "submit" }, "Show"),
    el("button", { type: "button", class: "secondary", id: "spend-csv" }, "Download jobs created this month (CSV)"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(`#/spend?month=${form.elements.month.value}`);
  });
  const [year, m] = month.split("-").map(Number);
  const from = new Date(Date.UTC(year, m - 1, 1));
  const to = new Date(Date.UTC(year, m, 1));
  const range = `from=${from.toISOString().slice(0, 10)}&to=${to.toISOString().slice(0, 10)}`;
  const csvProblem = el("div", {});
  form.querySelector("#spend-csv").addEventListener("click", () => guarded(csvProblem, () =>
    downloadCsv(`created_from=${from.toISOString()}&created_to=${to.toISOString()}`)));
  const [byDay, byClient] = await Promise.all([api(`/v1/spend?${range}&group_by=day`),
    api(`/v1/spend?${range}&group_by=client`)]);
  if (!current(token)) return;
  const chart = el("div", { class: "chart", role: "img",
    "aria-label": `Spend per day in ${month}: ${byDay.total_usd} USD over ${byDay.jobs} jobs` });
  const clients = byClient.groups.length === 0 ? el("p", { class: "empty" }, "Nothing was spent this month.") :
    el("div", { class: "table-wrap" }, el("table", { id: "spend-by-client" },
      el("caption", {}, `By client, ${month}`),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Client"), el("th", { scope: "col", class: "num" }, "Jobs"),
        el("th", { scope: "col", class: "num" }, "Spent (USD)"))),
      el("tbody", {}, byClient.groups.map((g) => el("tr", {}, el("td", {}, g.key),
        el("td", { class: "num" }, String(g.jobs)), el("td", { class: "num" }, g.total_usd)))),
      el("tfoot", {}, el("tr", {}, el("th", { scope: "row" }, "Total"), el("td", { class: "num" }, String(byClient.jobs)),
        el("td", { class: "num", id: "spend-total" }, byClient.total_usd)))));
  show("Spend", form, csvProblem, el("p", {}, `${byDay.total_usd} USD over ${byDay.jobs} jobs that ended in ${month} (UTC).`),
    chart, clients);
  drawChart(chart, byDay.groups, from, to);
}

function drawChart(target, groups, from, to) {
  const days = [];
  const totals = [];
  for (let day = new Date(from); day < to; day.setUTCDate(day.getUTCDate() + 1)) {
    const key = day.toISOString().slice(0, 10);
    days.push(day.getTime() / 1000);
    totals.push(Number(groups.find((g) => g.key === key)?.total_usd ?? 0));
  }
  const width = Math.max(300, Math.min(target.clientWidth || 800, 1100));
  new uPlot({ width, height: 240, scales: { x: { time: true } },
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"), // days are UTC days, wherever the reader is
    series: [{}, { label: "USD", stroke: "#0b5cad", fill: "rgba(11,92,173,0.15)", paths: uPlot.paths.bars({ size: [0.7] }) }],
    axes: [{}, { label: "USD" }] }, [days, totals], target);
  target.dataset.days = String(days.length);
  target.dataset.total = totals.reduce((a, b) => a + b, 0).toFixed(2);
}

// --- budgets (admin) -----------------------------------------------------------------------------------------

async function budgetsPage(token) {
  const result = el("div", {});
  const form = el("form", { class: "row", "aria-label": "A client's budget" },
    el("label", { for: "b-client" }, "Client", el("input", { id: "b-client", name: "client", required: true })),
    el("label", { for: "b-amount" }, "Monthly budget (USD)", el("input", { id: "b-amount", name: "monthly_usd",
      inputmode: "decimal", placeholder: "100.00" })),
    el("button", { type: "submit", name: "action", value: "set" }, "Set budget"),
    el("button", { type: "button", class: "secondary", id: "b-show" }, "Show"));
  const showBudget = async (budget) => result.replaceChildren(el("dl", { class: "facts" },
    el("dt", {}, "Client"), el("dd", {}, budget.client), el("dt", {}, "Monthly (USD)"), el("dd", {}, budget.monthly_usd),
    el("dt", {}, "Spent this month"), el("dd", {}, budget.spent_usd), el("dt", {}, "In flight"), el("dd", {}, budget.in_flight_usd)));
  const path = () => `/v1/clients/${encodeURIComponent(form.elements.client.value.trim())}/budget`;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try { await showBudget(await api(path(), { method: "PUT", body: { monthly_usd: form.elements.monthly_usd.value.trim() } }));
      announce("Budget saved"); } catch (error) { if (error.status !== 401) result.replaceChildren(problemBox(error)); }
  });
  form.querySelector("#b-show").addEventListener("click", async () => {
    try { await showBudget(await api(path())); } catch (error) {
      if (error.status !== 401) result.replaceChildren(error.status === 404 ? el("p", { class: "empty" }, "This client has no budget.") : problemBox(error)); }
  });
  show("Budgets", form, result);
}

// --- keys (admin) ----------------------------------------------------------------------------------------------

async function keysPage(token) {
  const created = el("div", {});
  const scopes = ["jobs:create", "jobs:read", "ops:read", "admin"];
  const form = el("form", { class: "row", "aria-label": "Create a key" },
    el("label", { for: "k-client" }, "Client", el("input", { id: "k-client", name: "client", required: true })),
    el("label", { for: "k-name" }, "Name", el("input", { id: "k-name", name: "name", required: true })),
    el("fieldset", {}, el("legend", {}, "Scopes"), scopes.map((scope) => el("label", { class: "inline", for: `k-${scope}` },
      el("input", { id: `k-${scope}`, type: "checkbox", name: "scopes", value: scope }), scope))),
    el("label", { class: "inline", for: "k-sandbox" }, el("input", { id: "k-sandbox", type: "checkbox", name: "sandbox" }),
      "Sandbox key"),
    el("button", { type: "submit" }, "Create key"));
  const list = el("div", {});
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { client: form.elements.client.value.trim(), name: form.elements.name.value.trim(),
      scopes: [...form.querySelectorAll("input[name=scopes]:checked")].map((box) => box.value),
      sandbox: form.elements.sandbox.checked };
    try {
      const key = await api("/v1/keys", { method: "POST", body });
      const secret = el("code", { id: "new-secret" }, key.key);
      const copy = el("button", { type: "button", class: "secondary" }, "Copy");
      copy.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(key.key);
          announce("Key copied");
        } catch { // no clipboard here (a page not served over https): the text is selected to copy by hand
          getSelection().selectAllChildren(secret);
          announce("Clipboard unavailable: the key is selected, copy it with your keyboard");
        }
      });
      created.replaceChildren(el("div", { class: "notice" },
        el("p", {}, `Key for ${key.client} created. Copy it now: it is shown only once.`), el("div", { class: "secret" }, secret, copy)));
      announce(`Key for ${key.client} created; it is shown once, below the form`);
      copy.focus();
      form.reset();
      renderKeys(list, (await api("/v1/keys")).data);
    } catch (error) {
      if (error.status !== 401) created.replaceChildren(problemBox(error));
    }
  });
  const keys = await api("/v1/keys");
  if (!current(token)) return;
  show("Keys", form, created, el("h3", { id: "all-keys", tabindex: "-1" }, "All keys"), list);
  renderKeys(list, keys.data);
}

function renderKeys(list, data) {
  list.replaceChildren(data.length === 0 ? el("p", { class: "empty" }, "No keys yet.") : el("div", { class: "table-wrap" },
    el("table", {}, el("thead", {}, el("tr", {}, ["Name", "Client", "Scopes", "Key starts", "Last used", "Revoke"].map((h) =>
      el("th", { scope: "col" }, h)))),
    el("tbody", {}, data.map((key) => el("tr", { "data-key": key.id }, el("td", {}, key.name, key.sandbox ? " (sandbox)" : ""),
      el("td", {}, key.client), el("td", {}, key.scopes.join(", ")), el("td", {}, el("code", {}, key.key_prefix)),
      el("td", {}, time(key.last_used_at)),
      el("td", {}, key.revoked_at ? `revoked ${time(key.revoked_at)}` : el("button", { type: "button", class: "danger",
        "aria-label": `Revoke ${key.name} (${key.client})`, onclick: () => guarded(list, async () => {
          if (!confirm(`Revoke the key "${key.name}" of ${key.client}? Requests with it fail at once.`)) return;
          await api(`/v1/keys/${encodeURIComponent(key.id)}`, { method: "DELETE", accept: "*/*" });
          announce(`Key ${key.name} revoked`);
          renderKeys(list, (await api("/v1/keys")).data);
          document.getElementById("all-keys")?.focus();
        }) }, "Revoke"))))))));
}

route();
