import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { ManualClock } from "../server/src/clock.ts";
import { startTestServer, TestAgent, type TestServer } from "../server/src/testing/harness.ts";
import { launchChromium, login, overflows, SHOTS, shot, shotOf } from "./ui-session.ts";

// The jobs list and a host's runs (issue 17), in headless Chromium against the real server on
// loopback: #/jobs lists jobs of several hosts, its filters (kind, status, label) narrow the list
// on the server and stay in the address across a reload, and "Load more" shows the next page; a
// host page shows more than 15 runs through "Load more" and draws their timeline (a failed run
// marked); both fit a phone. Screenshots under test-artifacts/ui/jobs-*.png, at 1366×900 and 390×844.
const MIN = 60_000;
const STEP_TIMEOUT_MS = 60_000;
// 70 jobs one minute apart end about now, so the times read as today in the browser.
const clock = new ManualClock(new Date(Date.now() - 82 * MIN));
let t: TestServer;
let browser: Browser;
let page: Page;
let agent: TestAgent;
let webId = "";
let soloId = "";
let soloAgent: TestAgent;
const failed: string[] = [];

/** The rows' cells under a column (data-label), once the table has settled on `ready`. */
const column = (label: string) => page.locator(`tr[data-job] td[data-label="${label}"]`).allTextContents();
/**
 * Waits until the shown rows (the table is the signal) number `count` (or at least one), each with
 * `every`'s column holding its text. A function, not a string: the UI's CSP forbids eval.
 */
async function rowsUntil(want: { count?: number; every?: [string, string] }) {
  await page.waitForFunction(({ count, every }) => {
    const rows = [...document.querySelectorAll("tr[data-job]")];
    if (count === undefined ? rows.length === 0 : rows.length !== count) return false;
    if (!every) return true;
    return rows.every((tr) => tr.querySelector(`td[data-label="${every[0]}"]`)?.textContent === every[1]);
  }, want);
}

beforeAll(async () => {
  t = await startTestServer({ clock });
  const web = await t.enroll("web-01");
  const db = await t.enroll("db-01");
  const dev = await t.enroll("dev-01");
  webId = web.host_id;
  const label = (id: string, labels: Record<string, string>) =>
    t.json(`/api/v1/hosts/${id}`, { method: "PATCH", body: { labels } });
  await label(web.host_id, { env: "prod", role: "web" });
  await label(db.host_id, { env: "prod", role: "db" });
  await label(dev.host_id, { env: "dev" });
  agent = await TestAgent.connect(t.url, web.agent_token);
  await agent.hello(3, { hostname: "web-01" });
  // A host with a single run, for the one-point chart (the oldest job of all).
  const solo = await t.enroll("solo-01");
  soloId = solo.host_id;
  soloAgent = await TestAgent.connect(t.url, solo.agent_token);
  await soloAgent.hello(3, { hostname: "solo-01" });
  const one = await t.json(`/api/v1/hosts/${soloId}/jobs`, { method: "POST", body: { kind: "check" } });
  await soloAgent.acked(
    soloAgent.send("job.started", { job_id: one.body.id, kind: "check", started_at: clock.now().toISOString() }),
    soloAgent.send("job.finished", {
      job_id: one.body.id,
      status: "succeeded",
      exit_code: 0,
      finished_at: new Date(clock.now().getTime() + 42_000).toISOString(),
    }),
  );
  clock.advance(MIN);
  // 70 jobs, newest last: web-01's 24 backups (every third failed), db-01's checks and dev-01's
  // prunes (queued: their hosts are offline), interleaved.
  let webRuns = 0;
  for (let i = 0; i < 70; i++) {
    const [hostId, body] =
      i % 3 === 0
        ? [web.host_id, { kind: "backup", spec: { paths: ["/srv"] } }]
        : i % 3 === 1
          ? [db.host_id, { kind: "check" }]
          : [dev.host_id, { kind: "prune" }];
    const job = await t.json(`/api/v1/hosts/${hostId}/jobs`, { method: "POST", body });
    expect(job.status).toBe(201);
    if (hostId === web.host_id) {
      const fails = webRuns++ % 3 === 2;
      const at = clock.now();
      const started = agent.send("job.started", { job_id: job.body.id, kind: "backup", started_at: at.toISOString() });
      const finished = agent.send("job.finished", {
        job_id: job.body.id,
        status: fails ? "failed" : "succeeded",
        exit_code: fails ? 1 : 0,
        finished_at: new Date(at.getTime() + (20 + webRuns * 3) * 1000).toISOString(),
        ...(fails
          ? { error: "Fatal: unable to open repository: connection refused" }
          : { stats: { data_added: webRuns * 3_000_000, total_duration: 20, snapshot_id: `abcdef${webRuns}0` } }),
      });
      await agent.acked(started, finished);
      if (fails) failed.push(job.body.id);
    }
    clock.advance(MIN);
  }
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await login(page, t.url, "admin", "admin-password");
});

afterAll(async () => {
  agent?.close();
  soloAgent?.close();
  await browser?.close();
  await t?.close();
});

test(
  "Jobs lists every host's jobs, newest first, 50 a page; Load more shows the rest",
  async () => {
    await page.getByRole("navigation").getByRole("link", { name: "Jobs" }).click();
    await page.getByRole("heading", { name: "Jobs", exact: true }).waitFor();
    await rowsUntil({ count: 50 });
    expect(new Set(await column("Host"))).toEqual(new Set(["web-01", "db-01", "dev-01"]));
    // Newest first: the last job made (i = 69, a web-01 backup) on top.
    expect((await column("Host"))[0]).toBe("web-01");
    expect((await column("Kind")).slice(0, 3)).toEqual(["backup", "prune", "check"]);
    await shot(page, "jobs-01-list");
    await page.getByRole("button", { name: "Load more" }).click();
    await rowsUntil({ count: 71 });
    const ids = await page.locator("tr[data-job]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-job")));
    expect(new Set(ids).size).toBe(71);
    expect(await page.getByRole("button", { name: "Load more" }).count()).toBe(0);
    // A row links to its job.
    const first = page.locator("tr[data-job]").first();
    expect(await first.locator('td[data-label="Time"] a').getAttribute("href")).toBe(
      `#/jobs/${await first.getAttribute("data-job")}`,
    );
  },
  STEP_TIMEOUT_MS,
);

test(
  "kind, status, label and day filters narrow the list on the server, and the address keeps them across a reload",
  async () => {
    await page.getByLabel("Kind").selectOption("backup");
    await rowsUntil({ count: 24, every: ["Kind", "backup"] });
    expect(new Set(await column("Host"))).toEqual(new Set(["web-01"]));
    await page.getByLabel("Status").selectOption("failed");
    await rowsUntil({ count: failed.length, every: ["Status", "✗ failed"] });
    expect(new Set(await column("Status"))).toEqual(new Set(["✗ failed"]));
    expect((await column("Result"))[0]).toContain("connection refused");
    expect(page.url()).toContain("#/jobs?");
    expect(page.url()).toContain("kind=backup");
    expect(page.url()).toContain("status=failed");
    await shot(page, "jobs-02-filtered");

    await page.reload();
    await page.getByRole("heading", { name: "Jobs", exact: true }).waitFor();
    await rowsUntil({ count: failed.length, every: ["Kind", "backup"] });
    expect(await page.getByLabel("Kind").inputValue()).toBe("backup");
    expect(await page.getByLabel("Status").inputValue()).toBe("failed");

    await page.getByLabel("Kind").selectOption("");
    await page.getByLabel("Status").selectOption("");
    await page.getByLabel("Filter by labels").fill("role=db");
    await page.getByLabel("Filter by labels").press("Enter");
    await rowsUntil({ every: ["Host", "db-01"] });
    expect(page.url()).toContain("label=role%3Ddb");
    // A malformed label is said by the box, and nothing is listed under it.
    await page.getByLabel("Filter by labels").fill("Role=db");
    await page.getByLabel("Filter by labels").press("Enter");
    await page.locator(".field-error").filter({ hasText: "label" }).waitFor();
    await page.getByLabel("Filter by labels").fill("");
    await page.getByLabel("Filter by labels").press("Enter");
    await rowsUntil({ count: 50 });
    // Days: from tomorrow lists nothing; a "to" before the "from" is said by the filters.
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toLocaleDateString("sv");
    await page.getByLabel("From").fill(day(1));
    await page.getByText("No jobs under these filters.").waitFor();
    expect(page.url()).toContain(`from=${day(1)}`);
    await page.getByLabel("To").fill(day(-1));
    await page.locator(".field-error").filter({ hasText: "must not be before" }).waitFor();
    await page.getByLabel("From").fill(day(-1));
    await page.getByLabel("To").fill(day(0));
    await rowsUntil({ count: 50 });
  },
  STEP_TIMEOUT_MS,
);

test(
  "a host page shows more than 15 runs through Load more, and draws their timeline with failures marked",
  async () => {
    await page.goto(`${t.url}/#/hosts/${webId}`);
    await page.getByRole("heading", { name: "Runs" }).waitFor();
    await rowsUntil({ count: 15 });
    expect(await page.locator(".run-chart a.run").count()).toBe(15);
    await page.getByRole("button", { name: "Load more" }).click();
    await rowsUntil({ count: 24 });
    // Every run is drawn, the failed ones as crosses, and the time axis labels all differ.
    expect(await page.locator(".run-chart a.run").count()).toBe(24);
    await shot(page, "jobs-08-one-host");
    expect(await page.locator(".run-chart a.run-failed").count()).toBe(failed.length);
    const axis = await page.locator(".run-chart text.chart-tick").allTextContents();
    expect(axis.length).toBeGreaterThanOrEqual(2);
    expect(new Set(axis).size).toBe(axis.length);
    await shot(page, "jobs-03-host-runs");
    // Its link opens the jobs list for this host.
    await page.getByRole("link", { name: "This host in the jobs list" }).click();
    await rowsUntil({ count: 24, every: ["Host", "web-01"] });
    // One host's jobs are drawn as its timeline there too.
    expect(await page.locator(".run-chart a.run").count()).toBe(24);
    await shot(page, "jobs-08-one-host");
  },
  STEP_TIMEOUT_MS,
);

test(
  "a single run draws as one bar inside the plot, over a time axis whose labels differ",
  async () => {
    await page.goto(`${t.url}/#/hosts/${soloId}`);
    await rowsUntil({ count: 1 });
    const bar = page.locator(".run-chart a.run rect.bar");
    expect(await bar.count()).toBe(1);
    const svg = await page.locator(".run-chart").boundingBox();
    const box = await bar.boundingBox();
    expect(box && svg && box.x > svg.x + 40 && box.x + box.width < svg.x + svg.width).toBe(true);
    expect(box?.height ?? 0).toBeGreaterThan(10);
    // A check reports no data added: no empty "Data added" panel.
    expect(await page.locator(".run-chart text", { hasText: "Data added" }).count()).toBe(0);
    const ticks = await page.locator(".run-chart text.chart-tick").allTextContents();
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    expect(new Set(ticks).size).toBe(ticks.length);
    await shotOf(page.locator(".run-chart-box"), "jobs-07-one-run");
  },
  STEP_TIMEOUT_MS,
);

test(
  "on a phone (390 px) the jobs list, its filters and a host's timeline fit the screen",
  async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await login(phone, t.url, "admin", "admin-password");
    await phone.goto(`${t.url}/#/jobs?host_id=${webId}&status=failed`);
    await phone.locator("tr[data-job]").first().waitFor();
    expect(await overflows(phone)).toBe(false);
    await shot(phone, "jobs-04-phone-list");
    await phone.screenshot({ path: `${SHOTS}/jobs-04-phone-list-top.png` });
    await phone.goto(`${t.url}/#/hosts/${webId}`);
    await phone.locator(".run-chart").waitFor();
    expect(await overflows(phone)).toBe(false);
    // The chart is drawn at the phone's width, so its labels keep their size.
    const box = await phone.locator(".run-chart").boundingBox();
    expect(box?.width ?? 0).toBeLessThanOrEqual(390);
    const font = await phone
      .locator(".run-chart text.chart-label")
      .first()
      .evaluate((el) => el.getBoundingClientRect().height);
    expect(font).toBeGreaterThanOrEqual(10);
    await shotOf(phone.locator("section[aria-labelledby='jobs-h']"), "jobs-05-phone-runs");
    await shotOf(phone.locator(".run-chart-box"), "jobs-06-phone-chart");
    await phone.close();
  },
  STEP_TIMEOUT_MS,
);
