// Browser test of the web UI in headless Chromium, driven by playwright-core. Started by
// tests/e2e/webui_test.cpp with a running `tandem serve` and a scripted model behind it:
//   TANDEM_URL, TANDEM_USER, TANDEM_PASSWORD   the server and an admin's sign-in
//   TANDEM_ARTIFACT, TANDEM_ARTIFACT_TEXT      the file the scripted task writes, and its text
//   TANDEM_APPROVE=1                           the task stops once for an approval to click
//   TANDEM_DOWNLOADS                           a folder for the downloaded artifact
//   CHROMIUM                                   the browser (default /usr/bin/chromium)
//   TANDEM_SCREENSHOTS                         optional: a folder for a screenshot of each page
// Prints one line per check and exits 0 when all pass, 1 on the first failure.
import { chromium } from "playwright-core";
import { readFile } from "node:fs/promises";
import path from "node:path";

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const base = env("TANDEM_URL");
const user = env("TANDEM_USER");
const password = env("TANDEM_PASSWORD");
const artifact = env("TANDEM_ARTIFACT");
const artifactText = env("TANDEM_ARTIFACT_TEXT");
const downloads = env("TANDEM_DOWNLOADS");
const approve = process.env.TANDEM_APPROVE === "1";

// A hang must end the test, not the CI job.
setTimeout(() => {
  console.error("FAIL: the browser test did not finish within 150 s");
  process.exit(1);
}, 150_000).unref();

const log = (check, detail = "") => console.log(`ok   ${check}${detail ? `: ${detail}` : ""}`);
function expect(cond, message) {
  if (!cond) throw new Error(message);
}

const args = [];
// Chromium refuses to start its sandbox as root; only then is it turned off.
if (process.getuid && process.getuid() === 0) args.push("--no-sandbox");
const browser = await chromium.launch({ executablePath: env("CHROMIUM", "/usr/bin/chromium"), args, headless: true });
const problems = [];
try {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on("console", (m) => {
    if (m.type() === "error" && /Content.Security.Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  const shot = async (name) => {
    if (process.env.TANDEM_SCREENSHOTS) {
      await page.screenshot({ path: path.join(process.env.TANDEM_SCREENSHOTS, `${name}.png`), fullPage: true });
    }
  };
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));

  // Sign-in: the app sends an anonymous visitor to /login.
  await page.goto(base + "/");
  await page.waitForURL("**/login");
  await page.fill("#login-user", user);
  await page.fill("#login-password", "wrong password");
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector(".notice-error");
  log("a wrong password is refused");
  await page.fill("#login-user", user);
  await page.fill("#login-password", password);
  await page.click("#login-form button[type=submit]");
  await page.waitForURL("**/tasks");
  expect((await page.textContent("#who")).includes(user), "the header names the user");
  log("signed in", await page.textContent("#who"));

  // A new task from the form, with a budget.
  await page.click("header nav >> text=New task");
  await page.waitForURL("**/new");
  await shot("new");
  const goal = `Write ${artifact} <b>not markup</b>`;
  await page.fill("#goal", goal);
  await page.fill("#budget-usd", "1");
  await page.fill("#max-steps", "10");
  await page.click("#start-task");
  await page.waitForURL(/\/tasks\/[A-Za-z0-9_-]+$/);
  const taskId = page.url().split("/").pop();
  log("task started", taskId);
  // Data is text, never markup: the goal's tags show literally.
  expect((await page.textContent("h1.goal")) === goal, "the goal is shown as text");
  expect((await page.locator("h1.goal b").count()) === 0, "the goal's tags are not elements");
  log("the goal is escaped");

  if (approve) {
    await page.waitForSelector("#approve", { timeout: 60_000 });
    await page.click("#approve");
    log("approved the pending step");
  }

  await page.waitForFunction(() => document.querySelector("#task-status")?.textContent?.includes("succeeded"), null, {
    timeout: 60_000,
  });
  log("the task succeeded (status updated live)");
  await page.waitForSelector("#live-log li.ev-task_finished");
  const events = await page.locator("#live-log li").count();
  expect((await page.locator("#live-log li.ev-action_proposed").count()) >= 1, "the live log shows proposed actions");
  log("live events streamed", `${events} events`);

  // Steps: zone, cost and the routing reason of each.
  const detail = await page.evaluate(async (id) => (await fetch(`/api/tasks/${id}`)).json(), taskId);
  const firstRow = page.locator("table.steps tbody tr").first();
  await firstRow.waitFor();
  const cells = await firstRow.locator("td").allTextContents();
  expect(cells[2] === detail.steps[0].zone, `step 1 zone ${cells[2]} is ${detail.steps[0].zone}`);
  expect(cells[4].length > 1 && cells[4] !== "–", `step 1 has a routing reason (${cells[4]})`);
  expect(cells[6].startsWith("$"), `step 1 shows its cost (${cells[6]})`);
  log("step 1", `zone ${cells[2]}, routing "${cells[4]}", cost ${cells[6]}`);
  expect(detail.totals.cost_usd > 0, "the scripted cloud model costs something");
  const shownCost = await page.textContent("#task-cost");
  expect(shownCost.startsWith("$") && Math.abs(Number(shownCost.slice(1)) - detail.totals.cost_usd) < 1e-5,
    `the task cost ${shownCost} is ${detail.totals.cost_usd}`);
  log("task cost", shownCost);
  await shot("task");

  // The artifact downloads with its content intact.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click(`#artifacts a >> text=${artifact}`)]);
  const saved = path.join(downloads, download.suggestedFilename());
  await download.saveAs(saved);
  const text = await readFile(saved, "utf8");
  expect(text === artifactText, `the downloaded ${artifact} has the task's text (got ${JSON.stringify(text)})`);
  log("artifact downloaded", saved);

  // The cost dashboard: the task's cost, with charts.
  await page.click("header nav >> text=Cost");
  await page.waitForSelector("#cost-total");
  const report = await page.evaluate(async () => (await fetch("/api/cost?days=30")).json());
  const total = await page.textContent("#cost-total");
  expect(report.total.cost_usd > 0, "the cost report counts the task");
  expect(Math.abs(Number(total.slice(1)) - report.total.cost_usd) < 1e-5, `the dashboard total ${total} is ${report.total.cost_usd}`);
  expect((await page.locator("#cost svg.chart").count()) >= 3, "the dashboard draws its charts");
  log("cost dashboard", total);
  await shot("cost");

  // Every other page renders, with neither an error nor a "not available" notice.
  for (const [label, selector] of [["Schedules", "#schedules"], ["Audit", "#audit"], ["Providers", "#providers"], ["Tasks", "#task-list"]]) {
    await page.click(`header nav >> text=${label}`);
    await page.waitForSelector(selector);
    await page.waitForLoadState("networkidle");
    const errors = await page.locator("main .notice-error").allTextContents();
    expect(errors.length === 0, `${label} shows no error: ${errors.join("; ")}`);
    expect((await page.locator("main .notice-unavailable").count()) === 0, `${label} is available`);
    await shot(label.toLowerCase());
    log(`${label} page`, "shown");
  }
  // The list renders after its fetch answers, which a slow (sanitizer) build may not have yet.
  await page.waitForSelector(`#task-list a[href="/tasks/${taskId}"]`, { timeout: 20_000 });
  expect((await page.locator(`#task-list a[href="/tasks/${taskId}"]`).count()) === 1, "the task list links the task");

  // A POST without the CSRF token is refused even with the session cookie.
  const forged = await page.evaluate(async (id) => (await fetch(`/api/tasks/${id}/cancel`, { method: "POST" })).status, taskId);
  expect(forged === 403, `a POST without X-CSRF-Token is refused (got ${forged})`);
  log("CSRF enforced");

  await page.click("#sign-out");
  await page.waitForURL("**/login");
  const after = await page.evaluate(async () => (await fetch("/api/me")).status);
  expect(after === 401, "signed out");
  log("signed out");

  expect(problems.length === 0, `the browser reported: ${problems.join(" | ")}`);
  log("no Content-Security-Policy violations or script errors");
  console.log("PASS");
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  if (problems.length) console.error(`browser problems: ${problems.join(" | ")}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
