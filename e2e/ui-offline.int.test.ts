import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { startTestServer, TestAgent, type TestServer } from "../server/src/testing/harness.ts";
import { launchChromium, login, overflows, shot, shotOf } from "./ui-session.ts";

// Backups while the server is down (issue 19, DESIGN §8.7) in the web UI, headless Chromium against
// the real server and real WebSocket agents: the host page says how long its agent backs up on its
// own and where that comes from, and an admin sets and clears the host's own limit (the agent is
// sent it); the policy form edits a policy's; a job the agent ran on its own is marked in the jobs
// list, the host's runs and its own page, and #/jobs filters by who made a job. Screenshots:
// test-artifacts/ui/offline-*.png.
let t: TestServer;
let browser: Browser;
let page: Page;
let hostId = "";
let policyId = "";
let agent: TestAgent;
let legacy: TestAgent;
let legacyId = "";
const aloneJob = "0193a0b0-7c00-7000-8000-0000000000b1";
let userJob = "";

beforeAll(async () => {
  t = await startTestServer();
  const web = await t.enroll("web-01");
  hostId = web.host_id;
  await t.json(`/api/v1/hosts/${hostId}`, { method: "PATCH", body: { labels: { env: "prod" } } });
  const schedule = await t.json(`/api/v1/hosts/${hostId}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: "0 * * * *", paths: ["/srv"] },
  });
  const policy = await t.json("/api/v1/policies", {
    method: "POST",
    body: { name: "prod-offline", selector: { labels: { env: "prod" } }, max_offline_age: "2d" },
  });
  expect(policy.status).toBe(201);
  policyId = policy.body.id;
  agent = await TestAgent.connect(t.url, web.agent_token);
  await agent.hello(10, { hostname: "web-01" });
  // A backup the agent ran alone an hour ago, then one an admin ran since.
  const hour = Math.floor(t.clock.now().getTime() / 3_600_000) * 3_600_000;
  await agent.ranOnItsOwn({
    jobId: aloneJob,
    scheduleId: schedule.body.id,
    scheduledAt: new Date(hour - 3_600_000).toISOString(),
    finishedAt: new Date(hour - 3_600_000 + 95_000).toISOString(),
  });
  const run = await t.json(`/api/v1/hosts/${hostId}/jobs`, { method: "POST", body: { kind: "check" } });
  userJob = run.body.id;
  const old = await t.enroll("legacy-01");
  legacyId = old.host_id;
  legacy = await TestAgent.connect(t.url, old.agent_token);
  await legacy.hello(9, { hostname: "legacy-01" });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await login(page, t.url, "admin", "admin-password");
});

afterAll(async () => {
  agent?.close();
  legacy?.close();
  await browser?.close();
  await t?.close();
});

test("the host page says the limit in effect and its source; an admin sets and clears the host's own", async () => {
  await page.goto(`${t.url}/#/hosts/${hostId}`);
  const card = page.locator('section[aria-labelledby="offline-h"]');
  const line = card.locator(".offline-age");
  await line.filter({ hasText: "up to 2d" }).waitFor();
  expect(await line.textContent()).toBe(
    "This host backs up on its own for up to 2d after it last reached the server (from policy prod-offline).",
  );
  expect(await line.getByRole("link", { name: "prod-offline" }).getAttribute("href")).toBe(`#/policies/${policyId}`);
  await shotOf(card, "offline-01-host-card-policy");

  const input = card.getByLabel("This host's own limit");
  await input.fill("5m");
  await card.getByRole("button", { name: "Save limit" }).click();
  await card.locator('[data-field="max_offline_age"] .field-error').filter({ hasText: "10m to 365d" }).waitFor();
  await shotOf(card, "offline-02-host-card-error");

  const sent = agent.of("config.update").length;
  await input.fill("36h");
  await card.getByRole("button", { name: "Save limit" }).click();
  await card.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  expect(await card.locator(".offline-age").textContent()).toContain(
    "up to 36h after it last reached the server (this host's own setting)",
  );
  expect((await agent.next("config.update", sent)).payload.max_offline_age_seconds).toBe(129_600);
  expect((await t.json(`/api/v1/hosts/${hostId}`)).body.effective_max_offline_age).toEqual({
    value: "36h",
    seconds: 129_600,
    source: "host",
  });
  await shot(page, "offline-03-host-page");

  await card.getByRole("button", { name: "Clear (use policy or default)" }).click();
  await card.locator(".offline-age").filter({ hasText: "(from policy prod-offline)" }).waitFor();
  expect((await agent.next("config.update", sent + 1)).payload.max_offline_age_seconds).toBe(172_800);
  expect((await t.json(`/api/v1/hosts/${hostId}`)).body.max_offline_age).toBeNull();

  await page.setViewportSize({ width: 390, height: 844 });
  await card.locator(".offline-age").waitFor();
  expect(await overflows(page)).toBe(false);
  await shot(page, "offline-04-host-page-phone");
  await page.setViewportSize({ width: 1366, height: 900 });
});

test("an agent before protocol 10 is said to run nothing on its own", async () => {
  await page.goto(`${t.url}/#/hosts/${legacyId}`);
  const card = page.locator('section[aria-labelledby="offline-h"]');
  await card.locator(".warn-text").filter({ hasText: "speaks protocol 9" }).waitFor();
  expect(await card.locator(".offline-age").textContent()).toContain(
    "up to 7d after it last reached the server (the default)",
  );
});

test("a job the agent ran on its own is marked in the jobs list, the host's runs and its page; #/jobs filters by who made it", async () => {
  await page.goto(`${t.url}/#/jobs`);
  const rows = page.locator("tr[data-job]");
  await page.locator(`tr[data-job="${aloneJob}"]`).waitFor();
  expect(await page.locator(`tr[data-job="${aloneJob}"] .badge-away`).textContent()).toBe(
    "⇄ ran while the server was away",
  );
  expect(await page.locator(`tr[data-job="${userJob}"] .badge-away`).count()).toBe(0);
  await shot(page, "offline-05-jobs");

  await page.getByLabel("Made by").selectOption("agent");
  await page.waitForFunction((id) => {
    const shown = [...document.querySelectorAll("tr[data-job]")].map((r) => r.getAttribute("data-job"));
    return shown.length === 1 && shown[0] === id;
  }, aloneJob);
  expect(page.url()).toContain("actor_kind=agent");
  await page.reload();
  await page.locator(`tr[data-job="${aloneJob}"]`).waitFor();
  expect(await rows.count()).toBe(1);
  expect(await page.getByLabel("Made by").inputValue()).toBe("agent");
  await shot(page, "offline-06-jobs-filtered");
  await page.getByLabel("Made by").selectOption("user");
  await page.waitForFunction((id) => {
    const shown = [...document.querySelectorAll("tr[data-job]")].map((r) => r.getAttribute("data-job"));
    return shown.length === 1 && shown[0] === id;
  }, userJob);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByLabel("Made by").selectOption("agent");
  await page.locator(`tr[data-job="${aloneJob}"] .badge-away`).waitFor();
  expect(await overflows(page)).toBe(false);
  await shot(page, "offline-07-jobs-phone");
  await page.setViewportSize({ width: 1366, height: 900 });

  await page.goto(`${t.url}/#/hosts/${hostId}`);
  await page.locator(`section[aria-labelledby="jobs-h"] tr[data-job="${aloneJob}"] .badge-away`).waitFor();

  await page.goto(`${t.url}/#/jobs/${aloneJob}`);
  await page.locator("h1 .badge-away").waitFor();
  expect(await page.getByText("by the agent, on its own (the server was away)").count()).toBe(1);
  await shot(page, "offline-08-job-page");
});

test("the policy form edits the policy's limit, and a bad one is refused under its field", async () => {
  await page.goto(`${t.url}/#/policies/${policyId}`);
  const form = page.getByRole("form", { name: "Policy" });
  const input = form.getByLabel("Backups while the server is down");
  expect(await input.inputValue()).toBe("2d");
  await input.fill("a week");
  await form.getByRole("button", { name: /Save policy/ }).click();
  await form
    .locator('[data-field="max_offline_age"] .field-error')
    .filter({ hasText: "like 90m, 36h or 7d" })
    .waitFor();
  const sent = agent.of("config.update").length;
  await input.fill("0");
  await form.getByRole("button", { name: /Save policy/ }).click();
  await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  expect((await t.json(`/api/v1/policies/${policyId}`)).body.max_offline_age).toBe("0");
  expect((await agent.next("config.update", sent)).payload.max_offline_age_seconds).toBe(0);
  await page.locator("p.facts").filter({ hasText: "its hosts never back up without the server" }).waitFor();
  await shot(page, "offline-09-policy-form");
  await input.fill("");
  await form.getByRole("button", { name: /Save policy/ }).click();
  await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  expect((await t.json(`/api/v1/policies/${policyId}`)).body.max_offline_age).toBeNull();
});
