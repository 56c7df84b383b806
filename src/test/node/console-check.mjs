// falgate's console in a real browser (Debian's chromium, driven by playwright-core), as ConsoleTest runs it:
//   node console-check.mjs   (settings in the environment: see ConsoleTest)
// One JSON line per finding; screenshots under $SHOTS.
import fs from "node:fs";
import readline from "node:readline";
import { chromium } from "playwright-core";

const { BASE, ADMIN_KEY, READER_KEY, DOOMED_KEY, CLIENT, COMPLETED_JOB, LIVE_JOB, HOSTILE_JOB, MONTH, SHOTS, CHROMIUM } = process.env;
// the test acts between steps (runs the worker, revokes a key) and says so with a line on stdin
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const testActed = () => lines.next();
const axeSource = fs.readFileSync(new URL("./node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
const print = (step, value) => console.log(JSON.stringify({ step, ...value }));
const urls = [];
const browser = await chromium.launch({ executablePath: CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"] });

async function open(viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("request", (request) => urls.push(request.url()));
  page.on("dialog", (dialog) => dialog.accept());
  page.on("pageerror", (error) => print("page-error", { message: error.message }));
  return { context, page };
}

async function signIn(page, key) {
  await page.goto(`${BASE}/console`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForSelector("#nav:not([hidden])");
  await page.waitForFunction(() => !document.querySelector(".sign-in") && document.querySelector("main h2"));
}

async function accessibility(page, name) {
  await page.evaluate(axeSource); // through the DevTools protocol: the page's CSP allows no inline script
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 3) }));
  print("axe", { page: name, serious });
}

try {
  // --- an admin --------------------------------------------------------------------------------------------
  const { context, page } = await open({ width: 1280, height: 800 });
  const headers = (await page.goto(`${BASE}/console`)).headers();
  print("headers", { csp: headers["content-security-policy"], nosniff: headers["x-content-type-options"],
    referrer: headers["referrer-policy"] });
  await signIn(page, ADMIN_KEY);
  print("nav", { links: await page.$$eval("nav li:not([hidden]) a", (links) => links.map((a) => a.textContent)) });
  const liveRow = `tbody tr[data-job="${LIVE_JOB}"] .status`;
  print("live-watching", { before: await (await page.waitForSelector(liveRow)).textContent() });
  await testActed(); // the worker has run: the row follows without a reload
  await page.waitForFunction((selector) => document.querySelector(selector)?.textContent === "completed", liveRow,
    { timeout: 20000 });
  print("live", { after: await page.textContent(liveRow) });
  await page.getByLabel("Client").fill(CLIENT);
  await page.getByLabel("Per page").selectOption("25");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForFunction((client) => {
    const rows = [...document.querySelectorAll("tbody tr[data-job]")];
    return location.hash.includes("client=") && rows.length > 0 && rows.every((row) => row.cells[1].textContent === client);
  }, CLIENT);
  const first = await page.$$eval("tbody tr[data-job]", (rows) => rows.map((row) => row.dataset.job));
  await page.screenshot({ path: `${SHOTS}/jobs-1280x800.png`, fullPage: true });
  await accessibility(page, "jobs");
  await page.getByRole("button", { name: "Next page" }).click();
  await page.waitForFunction((firstId) => document.querySelector("tbody tr[data-job]")?.dataset.job !== firstId, first[0]);
  const second = await page.$$eval("tbody tr[data-job]", (rows) => rows.map((row) => row.dataset.job));
  print("history", { first, second });

  await page.goto(`${BASE}/console#/jobs/${COMPLETED_JOB}`);
  const ready = await page.waitForFunction(() => {
    const video = document.querySelector("video");
    return video && video.readyState >= 1 ? { readyState: video.readyState, duration: video.duration } : false;
  }, null, { timeout: 20000 });
  print("video", await ready.jsonValue());
  await page.screenshot({ path: `${SHOTS}/job-1280x800.png`, fullPage: true });
  await accessibility(page, "job");

  await page.goto(`${BASE}/console#/jobs/${HOSTILE_JOB}`);
  await page.waitForFunction((id) => document.querySelector("main h2")?.textContent === `Job ${id}`, HOSTILE_JOB);
  print("hostile", await page.evaluate(() => ({ pwned: window.__pwned === 1, images: document.querySelectorAll("main img").length,
    shownAsText: document.querySelector("main").textContent.includes("<img src=x") })));
  await page.focus(".skip"); // the skip link moves focus to the content, staying on the page
  await page.keyboard.press("Enter");
  print("skip", await page.evaluate(() => ({ hash: location.hash, focused: document.activeElement?.tagName })));

  await page.goto(`${BASE}/console#/spend?month=${MONTH}`);
  await page.waitForSelector(".chart canvas");
  const byClient = await page.$$eval("#spend-by-client tbody tr", (rows) =>
    rows.map((row) => ({ client: row.cells[0].textContent, jobs: row.cells[1].textContent, total: row.cells[2].textContent })));
  const chart = await page.$eval(".chart", (c) => ({ days: c.dataset.days, total: c.dataset.total }));
  print("spend", { byClient, chart, total: await page.$eval("#spend-total", (c) => c.textContent) });
  await page.screenshot({ path: `${SHOTS}/spend-1280x800.png`, fullPage: true });
  await accessibility(page, "spend");

  await page.goto(`${BASE}/console#/keys`);
  await page.getByLabel("Client", { exact: true }).fill(CLIENT);
  await page.getByLabel("Name").fill("made in the console");
  await page.getByLabel("jobs:read").check();
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = await (await page.waitForSelector("#new-secret")).textContent();
  await page.screenshot({ path: `${SHOTS}/keys-1280x800.png`, fullPage: true });
  await accessibility(page, "keys");
  await page.getByRole("button", { name: `Revoke made in the console (${CLIENT})` }).first().click();
  await page.waitForFunction(() => [...document.querySelectorAll("tbody tr")].some((row) =>
    row.textContent.includes("made in the console") && row.textContent.includes("revoked")));
  const storage = await page.evaluate(() => ({ cookie: document.cookie, local: localStorage.length,
    session: Object.keys(sessionStorage) }));
  print("keys", { created: secret, storage });
  await context.close();

  // --- a phone-width screen ------------------------------------------------------------------------------
  const phone = await open({ width: 390, height: 844 });
  await signIn(phone.page, ADMIN_KEY);
  await phone.page.waitForSelector("tbody tr[data-job], .empty");
  await phone.page.screenshot({ path: `${SHOTS}/jobs-390x844.png`, fullPage: true });
  const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  print("phone", { overflow });
  await phone.context.close();

  // --- a jobs:read key of one client ---------------------------------------------------------------------
  const reader = await open({ width: 1280, height: 800 });
  await signIn(reader.page, READER_KEY);
  await reader.page.waitForSelector("tbody tr[data-job], .empty");
  print("reader", {
    links: await reader.page.$$eval("nav li:not([hidden]) a", (links) => links.map((a) => a.textContent)),
    clients: await reader.page.$$eval("tbody tr[data-job] td:nth-child(2)", (cells) => [...new Set(cells.map((c) => c.textContent))]),
    clientFilter: await reader.page.$("#f-client") !== null,
  });
  await reader.page.goto(`${BASE}/console#/keys`);
  print("reader-keys", { heading: await reader.page.textContent("main h2") });
  await reader.context.close();

  // --- a key revoked while signed in -----------------------------------------------------------------------
  const doomed = await open({ width: 1280, height: 800 });
  await signIn(doomed.page, DOOMED_KEY);
  await doomed.page.waitForSelector("tbody tr[data-job], .empty");
  print("doomed-signed-in", {});
  await testActed(); // the test revoked the key
  await doomed.page.getByRole("button", { name: "Apply" }).click(); // the same filters again: reloaded
  await doomed.page.waitForSelector(".sign-in .notice");
  print("revoked", { message: await doomed.page.textContent(".sign-in .notice"),
    session: await doomed.page.evaluate(() => Object.keys(sessionStorage)) });
  await doomed.context.close();
} catch (error) {
  print("failure", { message: error.message });
} finally {
  print("urls", { urls });
  await browser.close();
  process.stdin.destroy();
}
