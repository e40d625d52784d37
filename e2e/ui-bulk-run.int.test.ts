import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { startTestServer, TestAgent, type TestServer } from "../server/src/testing/harness.ts";
import { launchChromium, login, overflows, shot, shotOf } from "./ui-session.ts";

// Issue 18 in the web UI, in headless Chromium against the real server on loopback:
// - item 3: on the dashboard an admin ticks hosts (or names labels), picks a job kind and runs it
//   now on all of them; the answer lists the jobs it made, linked, with their live status, and the
//   server's refusals land by their fields;
// - item 7: a host's schedule says how many ticks were merged into its pending run.
// Screenshots under test-artifacts/ui/bulk-*.png, at 1366×900 and 390×844.
let t: TestServer;
let browser: Browser;
let page: Page;
let agent: TestAgent;
const ids: Record<string, string> = {};

type Job = { id: string; host_id: string; kind: string; status: string; spec: unknown };
const jobsOf = async (hostId: string) => (await t.json(`/api/v1/jobs?host_id=${hostId}`)).body.items as Job[];

beforeAll(async () => {
  t = await startTestServer();
  for (const [name, role] of [
    ["web-01", "web"],
    ["web-02", "web"],
    ["web-03", "web"],
    ["db-01", "db"],
  ] as const) {
    const h = await t.enroll(name);
    ids[name] = h.host_id;
    await t.json(`/api/v1/hosts/${h.host_id}`, { method: "PATCH", body: { labels: { env: "prod", role } } });
    if (name === "web-01") {
      agent = await TestAgent.connect(t.url, h.agent_token);
      await agent.hello(8, { hostname: name, resticHost: name });
    }
  }
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  // Forget and prune ask first.
  page.on("dialog", (d) => void d.accept());
  await login(page, t.url, "admin", "admin-password");
});

afterAll(async () => {
  agent?.close();
  await browser?.close();
  await t?.close();
});

const panel = () => page.locator("#bulk-run");

test("tick two hosts, run a backup now: the answer links both jobs and follows their status", async () => {
  await page.locator(`tr[data-host="${ids["web-01"]}"]`).waitFor();
  await page.getByLabel("Select web-01").check();
  await page.getByLabel("Select web-02").check();
  await panel().locator("summary").click();
  // The first tick chose "the selected hosts", with their count.
  expect(await page.getByLabel("the selected hosts (2)").isChecked()).toBe(true);
  await panel().getByLabel("Job").selectOption("backup");
  await panel().getByLabel("Paths (one per line)").fill("/srv\n/etc");
  await shot(page, "bulk-01-selected-1366");
  await panel().getByRole("button", { name: "Run now" }).click();
  await panel().getByRole("heading", { name: "Made 2 jobs" }).waitFor();
  const links = panel().locator(".bulk-jobs a");
  expect(await links.allTextContents()).toEqual(["web-01: backup", "web-02: backup"]);
  const [web1Job] = await jobsOf(ids["web-01"] as string);
  const [web2Job] = await jobsOf(ids["web-02"] as string);
  expect(web1Job?.spec).toEqual({ paths: ["/srv", "/etc"] });
  expect(await links.first().getAttribute("href")).toBe(`#/jobs/${web1Job?.id}`);
  expect(web2Job?.status).toBe("queued");
  expect(await jobsOf(ids["web-03"] as string)).toEqual([]);
  // web-01's agent starts its job: the badge in the answer follows.
  const run = await agent.next("command.run");
  agent.send("job.started", { job_id: run.payload.job_id, kind: "backup", started_at: new Date().toISOString() });
  await panel().locator(`li[data-job="${web1Job?.id}"] .badge-running`).waitFor();
  await shotOf(panel(), "bulk-02-made-1366");
});

test("every host with a label: a check on the three web hosts; bad labels and specs are refused by their fields", async () => {
  await panel().getByLabel("every host with the labels").check();
  const labels = panel().getByLabel("Labels", { exact: true });
  await labels.fill("role");
  await panel().getByLabel("Job").selectOption("check");
  await panel().getByRole("button", { name: "Run now" }).click();
  await panel().locator('[data-field="selector"] .field-error').filter({ hasText: "is not key=value" }).waitFor();

  await labels.fill("role=nope");
  await panel().getByRole("button", { name: "Run now" }).click();
  await panel()
    .locator('[data-field="selector"] .field-error')
    .filter({ hasText: "no host has all the labels {role=nope}" })
    .waitFor();
  await shot(page, "bulk-03-no-match-1366");

  await labels.fill("role=web");
  await panel().getByLabel("Job").selectOption("backup");
  await panel().getByLabel("Paths (one per line)").fill("srv");
  await panel().getByRole("button", { name: "Run now" }).click();
  await panel().locator('[data-field="paths"] .field-error').filter({ hasText: "absolute" }).waitFor();

  await panel().getByLabel("Job").selectOption("check");
  await panel().getByRole("button", { name: "Run now" }).click();
  await panel().getByRole("heading", { name: "Made 3 jobs" }).waitFor();
  expect(await panel().locator(".bulk-jobs a").allTextContents()).toEqual([
    "web-01: check",
    "web-02: check",
    "web-03: check",
  ]);
  // The earlier refusals are gone.
  expect((await panel().locator(".field-error, .form-error").allTextContents()).every((x) => x === "")).toBe(true);
  expect((await jobsOf(ids["db-01"] as string)).length).toBe(0);
  const audit = (await t.json("/api/v1/audit-log")).body.items.filter(
    (e: { action: string }) => e.action === "job.run_bulk",
  );
  expect(audit.map((e: { detail: { count: number } }) => e.detail.count)).toEqual([3, 2]);

  // A link opens the job.
  await panel().locator(".bulk-jobs a").first().click();
  await page.getByRole("heading", { name: /check/ }).first().waitFor();
  expect(page.url()).toContain("#/jobs/job_");
});

test("the host page's schedule says how many ticks were merged into its pending run", async () => {
  const web1 = ids["web-01"] as string;
  const s = await t.json(`/api/v1/hosts/${web1}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: "*/2 * * * * *", paths: ["/srv"] },
  });
  const base = Math.floor(t.clock.now().getTime() / 2000) * 2000 - 6000;
  const fire = (ms: number) =>
    agent.send("schedule.fire", { schedule_id: s.body.id, scheduled_at: new Date(ms).toISOString() });
  await agent.acked(fire(base));
  await agent.acked(fire(base + 2000), fire(base + 4000));
  expect((await t.json(`/api/v1/schedules/${s.body.id}`)).body.skipped_ticks.count).toBe(2);

  await page.goto(`${t.url}/#/hosts/${web1}`);
  const note = page.locator(`tr[data-schedule="${s.body.id}"] .skipped-ticks`);
  await note.waitFor();
  expect(await note.textContent()).toMatch(/^2 ticks skipped: previous run still queued · last /);
  // A further tick arrives while the page is open: the note follows (the schedule.skipped event).
  await agent.acked(fire(base + 6000));
  await note.filter({ hasText: "3 ticks skipped" }).waitFor();
  const job = (await t.json(`/api/v1/schedules/${s.body.id}`)).body.skipped_ticks.job_id;
  expect(await note.locator("a").getAttribute("href")).toBe(`#/jobs/${job}`);
  await shot(page, "bulk-04-skipped-ticks-1366");

  await page.setViewportSize({ width: 390, height: 844 });
  await note.waitFor();
  expect(await overflows(page)).toBe(false);
  await shot(page, "bulk-05-skipped-ticks-390");
});

test("on a phone (390×844): the dashboard's ticks and the bulk form fit, and it runs", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${t.url}/#/`);
  await page.locator(`tr[data-host="${ids["db-01"]}"]`).waitFor();
  await page.getByLabel("Select db-01").check();
  await panel().locator("summary").click();
  expect(await page.getByLabel("the selected hosts (1)").isChecked()).toBe(true);
  await panel().getByLabel("Job").selectOption("prune");
  await panel().getByRole("button", { name: "Run now" }).click();
  await panel().getByRole("heading", { name: "Made 1 job" }).waitFor();
  expect(await panel().locator(".bulk-jobs a").allTextContents()).toEqual(["db-01: prune"]);
  expect(await overflows(page)).toBe(false);
  await shot(page, "bulk-06-dashboard-390");
});
