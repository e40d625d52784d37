import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { startTestServer, TestAgent, type TestServer } from "../server/src/testing/harness.ts";

// The dashboard's counters (GET /hosts/summary) and its group-by-label view, in headless
// Chromium (Debian's) against the real server on loopback, with two labelled hosts: db-01
// {env=prod, role=db} online, web-01 {env=prod} with an hourly backup schedule, so pending.
// Each step saves a screenshot under test-artifacts/ui/.
const SHOTS = join(import.meta.dir, "..", "test-artifacts", "ui");
const CHROMIUM = process.env.RF_CHROMIUM ?? "/usr/bin/chromium";
let t: TestServer;
let browser: Browser;
let page: Page;
let agent: TestAgent;
let dbHost = "";
let webHost = "";

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
/** The counters as shown: label → value. */
const counters = async () =>
  Object.fromEntries(
    await page
      .locator(".counters .counter")
      .evaluateAll((tiles) =>
        tiles.map((x) => [
          x.querySelector(".counter-label")?.textContent ?? "",
          Number(x.querySelector(".counter-value")?.textContent),
        ]),
      ),
  );

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  t = await startTestServer();
  const db = await t.enroll("db-01");
  dbHost = db.host_id;
  webHost = (await t.enroll("web-01")).host_id;
  await t.json(`/api/v1/hosts/${dbHost}`, { method: "PATCH", body: { labels: { env: "prod", role: "db" } } });
  await t.json(`/api/v1/hosts/${webHost}`, { method: "PATCH", body: { labels: { env: "prod" } } });
  const made = await t.json(`/api/v1/hosts/${webHost}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: "0 * * * *", paths: ["/srv"] },
  });
  expect(made.status).toBe(201);
  agent = await TestAgent.connect(t.url, db.agent_token);
  await agent.hello(4, { hostname: "db-01", resticHost: "db-01" });
  expect((await t.json(`/api/v1/hosts/${dbHost}`)).body.online).toBe(true);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(t.url);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill("admin-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Fleet", exact: true }).waitFor();
});

afterAll(async () => {
  agent?.close();
  await browser?.close();
  await t?.close();
});

test("the counters come from /hosts/summary and follow the label filter", async () => {
  await page.locator(`tr[data-host="${webHost}"]`).waitFor();
  expect(await counters()).toEqual({
    hosts: 2,
    online: 1,
    offline: 1,
    "backups OK": 0,
    failed: 0,
    stale: 0,
    warnings: 0,
    pending: 1,
    unscheduled: 1,
  });
  await shot("groups-01-counters");
  const filter = page.getByLabel("Filter by labels");
  await filter.fill("role=db");
  await filter.press("Enter");
  await page.locator(`tr[data-host="${webHost}"]`).waitFor({ state: "detached" });
  expect(await counters()).toMatchObject({ hosts: 1, online: 1, offline: 0, pending: 0, unscheduled: 1 });
  // Only the keys the filtered hosts carry are offered.
  expect(await page.getByLabel("Group hosts by label").locator("option").allTextContents()).toEqual([
    "no grouping",
    "group by env",
    "group by role",
  ]);
  await filter.fill("");
  await filter.press("Enter");
  await page.locator(`tr[data-host="${webHost}"]`).waitFor();
});

test("group by a label key: one section per value, hosts without it under (none), with counts", async () => {
  const groupBy = page.getByLabel("Group hosts by label");
  await groupBy.selectOption("role");
  const db = page.locator('section.host-group[data-group="db"]');
  const none = page.locator('section.host-group[data-group="(none)"]');
  await db.waitFor();
  expect(await page.locator("section.host-group h2").allTextContents()).toEqual([
    "role=db · 1 host",
    "role: (none) · 1 host",
  ]);
  expect(await db.locator("tr[data-host]").evaluateAll((r) => r.map((x) => x.getAttribute("data-host")))).toEqual([
    dbHost,
  ]);
  expect(await none.locator("tr[data-host]").evaluateAll((r) => r.map((x) => x.getAttribute("data-host")))).toEqual([
    webHost,
  ]);
  expect(await db.locator(".group-health").textContent()).toBe("1 – unscheduled");
  expect(await none.locator(".group-health").textContent()).toBe("1 … pending");
  await page.getByRole("region", { name: "role=db · 1 host" }).waitFor();
  await shot("groups-02-by-role");

  await groupBy.selectOption("env");
  await page.locator('section.host-group[data-group="prod"]').waitFor();
  expect(await page.locator("section.host-group h2").allTextContents()).toEqual(["env=prod · 2 hosts"]);
  expect(await page.locator('section.host-group[data-group="prod"] .group-health').textContent()).toBe(
    "1 … pending · 1 – unscheduled",
  );
  await shot("groups-03-by-env");

  await groupBy.selectOption("");
  await page.locator("section.host-group").first().waitFor({ state: "detached" });
  expect(await page.locator("tr[data-host]").count()).toBe(2);
});

test("a backup that succeeded with warnings shows warning: counter, badge with the reason, group counts, host page", async () => {
  const run = await t.json(`/api/v1/hosts/${dbHost}/jobs`, {
    method: "POST",
    body: { kind: "backup", spec: { paths: ["/srv", "/missing"] } },
  });
  expect(run.status).toBe(201);
  const jobId = run.body.id as string;
  await agent.until(() => agent.of("command.run").find((c) => c.payload.job_id === jobId), "command.run");
  const at = new Date().toISOString();
  agent.send("job.started", { job_id: jobId, kind: "backup", started_at: at });
  const reason = "1 of 2 backup paths do not exist and were skipped: /missing";
  const fin = agent.send("job.finished", {
    job_id: jobId,
    status: "succeeded",
    exit_code: 0,
    finished_at: at,
    stats: { total_files_processed: 3, missing_paths: ["/missing"] },
    warnings: [reason],
  });
  await agent.acked(fin);
  const row = page.locator(`tr[data-host="${dbHost}"]`);
  await row.locator(".badge-warning").waitFor();
  expect(await row.locator(".badge-warning").textContent()).toBe("⚠ warning");
  expect(await row.locator(".backup-warning").textContent()).toBe(reason);
  expect(await counters()).toMatchObject({ "backups OK": 0, warnings: 1, failed: 0 });
  await shot("groups-04-warning");
  await page.getByLabel("Group hosts by label").selectOption("env");
  await page.locator('section.host-group[data-group="prod"]').waitFor();
  expect(await page.locator('section.host-group[data-group="prod"] .group-health').textContent()).toBe(
    "1 ⚠ warning · 1 … pending",
  );
  await page.getByLabel("Group hosts by label").selectOption("");
  await page.locator(`a[href="#/hosts/${dbHost}"]`).first().click();
  await page.getByRole("heading", { name: "db-01" }).waitFor();
  await page.locator(".facts .badge-warning").waitFor();
  expect(await page.getByText(`Last backup succeeded with warnings: ${reason}`).count()).toBe(1);
  await shot("groups-05-host-warning");
});
