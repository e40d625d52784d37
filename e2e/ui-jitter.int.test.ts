import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { startTestServer, TestAgent, type TestServer } from "../server/src/testing/harness.ts";
import { launchChromium, login, overflows, shot } from "./ui-session.ts";

// Jitter in the web UI (issue 18, item 1), headless Chromium against the real server: the host's
// Next runs column shows the real start times (nominal tick + the host's delay) and says
// "(+12m jitter …)"; an agent of protocol 8 is shown as not applying it; the schedule form edits
// the jitter, with a bad value refused under its field; the policy form edits a policy
// schedule's jitter and the policies list says it. Screenshots: test-artifacts/ui/jitter-*.png.
let t: TestServer;
let browser: Browser;
let page: Page;
let hostId = "";
let oldHostId = "";
let scheduleId = "";
const agents: TestAgent[] = [];

beforeAll(async () => {
  t = await startTestServer();
  for (const [name, version] of [
    ["web-01", 9],
    ["legacy-01", 8],
  ] as const) {
    const h = await t.enroll(name);
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello(version, { hostname: name, resticHost: name });
    agents.push(agent);
    if (version === 9) hostId = h.host_id;
    else oldHostId = h.host_id;
  }
  const made = await t.json(`/api/v1/hosts/${hostId}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: "0 2 * * *", jitter: "1h", paths: ["/srv"] },
  });
  expect(made.status).toBe(201);
  scheduleId = made.body.id;
  await t.json(`/api/v1/hosts/${oldHostId}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: "0 2 * * *", jitter: "1h", paths: ["/srv"] },
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await login(page, t.url, "admin", "admin-password");
});

afterAll(async () => {
  for (const a of agents) a.close();
  await browser?.close();
  await t?.close();
});

test("Next runs shows the host's real start times and names its jitter delay", async () => {
  const view = (await t.json(`/api/v1/schedules/${scheduleId}`)).body;
  await page.goto(`${t.url}/#/hosts/${hostId}`);
  const cell = page.locator(`tr[data-schedule="${scheduleId}"] td[data-label="Next runs"]`);
  await cell.locator(".jitter-note").waitFor();
  const times = await cell.locator("time").evaluateAll((els) => els.map((e) => e.getAttribute("datetime")));
  expect(times).toEqual(view.next_real_runs.slice(0, 2));
  expect(Date.parse(times[0] ?? "") - Date.parse(view.next_runs[0])).toBe(view.delay_seconds * 1000);
  const m = Math.floor(view.delay_seconds / 60);
  const s = view.delay_seconds % 60;
  expect(await cell.locator(".jitter-note").textContent()).toStartWith(m > 0 ? `(+${m}m` : `(+${s}s`);
  expect(await cell.locator(".jitter-note").textContent()).toEndWith("jitter, of up to 1h)");
  await shot(page, "jitter-01-host-next-runs");
  await page.setViewportSize({ width: 390, height: 844 });
  await cell.locator(".jitter-note").waitFor();
  expect(await overflows(page)).toBe(false);
  await shot(page, "jitter-02-host-next-runs-phone");
  await page.setViewportSize({ width: 1366, height: 900 });
});

test("an agent of protocol 8 is shown running at the nominal times", async () => {
  await page.goto(`${t.url}/#/hosts/${oldHostId}`);
  const note = page.locator("tr[data-schedule] .jitter-note.warn");
  await note.waitFor();
  expect(await note.textContent()).toContain("jitter 1h not applied: the agent on host");
  expect(await note.textContent()).toContain("speaks protocol 8, and jitter needs protocol 9");
  await shot(page, "jitter-03-old-agent");
});

test("the schedule form edits the jitter; a bad value is refused under its field", async () => {
  await page.goto(`${t.url}/#/hosts/${hostId}`);
  await page.locator(`tr[data-schedule="${scheduleId}"]`).getByRole("button", { name: "Edit" }).click();
  const form = page.locator("form.schedule-form");
  const jitter = form.getByLabel("Jitter");
  expect(await jitter.inputValue()).toBe("1h");
  await jitter.fill("an hour");
  await form.getByRole("button", { name: "Save schedule" }).click();
  await form
    .locator('[data-field="jitter"] .field-error')
    .filter({ hasText: 'jitter "an hour" must be a duration like 90s, 30m, 1h or 1h30m' })
    .waitFor();
  await shot(page, "jitter-04-form-error");
  await jitter.fill("30m");
  await form.getByRole("button", { name: "Save schedule" }).click();
  await form.waitFor({ state: "detached" });
  const saved = (await t.json(`/api/v1/schedules/${scheduleId}`)).body;
  expect(saved.jitter).toBe("30m");
  expect(saved.delay_seconds).toBeLessThan(1800);
  await page.locator(`tr[data-schedule="${scheduleId}"] .jitter-note`).filter({ hasText: "of up to 30m" }).waitFor();
});

test("the policy form edits a policy schedule's jitter, and the policies list says it", async () => {
  const p = await t.json("/api/v1/policies", {
    method: "POST",
    body: {
      name: "nightly",
      selector: {},
      schedules: [{ kind: "backup", cron_expr: "0 2 * * *", paths: ["/srv"], jitter: "1h" }],
    },
  });
  expect(p.status).toBe(201);
  await page.goto(`${t.url}/#/policies/${p.body.id}`);
  const form = page.getByRole("form", { name: "Policy" });
  const jitter = form.locator('[data-scope="schedules.0"]').getByLabel("Jitter");
  expect(await jitter.inputValue()).toBe("1h");
  await jitter.fill("45m");
  await form.getByRole("button", { name: /Save policy/ }).click();
  await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  expect((await t.json(`/api/v1/policies/${p.body.id}`)).body.schedules[0].jitter).toBe("45m");
  await shot(page, "jitter-05-policy-form");
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await overflows(page)).toBe(false);
  await shot(page, "jitter-06-policy-form-phone");
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.goto(`${t.url}/#/policies`);
  const row = page.locator(`tr[data-policy="${p.body.id}"]`);
  await row.waitFor();
  expect(await row.textContent()).toContain("backup every day at 02:00, spread over 45m");
  // Each host's copy has its own delay, shown on its page.
  const copies = (await t.json(`/api/v1/hosts/${hostId}/schedules`)).body.items;
  expect(copies.find((s: { policy_id: string | null }) => s.policy_id === p.body.id)).toMatchObject({ jitter: "45m" });
});
