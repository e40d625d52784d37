import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { startTestServer, type TestServer } from "../server/src/testing/harness.ts";
import { launchChromium, login, overflows, shot } from "./ui-session.ts";

// A policy's copy targets (issue 18 item 6, 3-2-1) in the web UI, in headless Chromium against the
// real server: one is added from the repository list with its own retention, prune and cron; a bad
// cron and a repository named twice are refused at their own boxes; the saved policy lists them and
// the API holds them; an edit takes the cron away. Screenshots at 1366×900 and 390×844.
let t: TestServer;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const repos: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestServer();
  for (const [name, url] of [
    ["main", "/srv/restic/main"],
    ["offsite", "/mnt/offsite/{host}"],
  ] as const) {
    const res = await t.json("/api/v1/repositories", {
      method: "POST",
      body: { name, url, ...(url.includes("{host}") ? {} : { password: "main-secret" }) },
    });
    expect(res.status).toBe(201);
    repos[name] = res.body.id;
  }
  const id = (await t.enroll("web-01")).host_id;
  expect((await t.json(`/api/v1/hosts/${id}`, { method: "PATCH", body: { labels: { env: "prod" } } })).status).toBe(
    200,
  );
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on("console", (m) => {
    // The refusals this test provokes are 400s the browser logs; anything else is a fault.
    if (m.type() === "error" && !m.text().includes("status of 400")) consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await login(page, t.url, "admin", "admin-password");
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

const entry = (i: number) => page.locator(`[data-scope="copy_targets.${i}"]`);

test("a copy target is added with its retention, prune and cron; bad ones are refused by field; the policy lists it", async () => {
  await page.goto(`${t.url}/#/policies/new`);
  await page.getByRole("heading", { name: "New policy" }).waitFor();
  await page.getByLabel("Name", { exact: true }).fill("prod");
  await page.getByRole("button", { name: "Add label" }).click();
  await page.getByLabel("Label key 1").fill("env");
  await page.getByLabel("Label value 1").fill("prod");
  await page
    .locator('select[name="repository_id"]')
    .first()
    .selectOption(repos.main as string);
  await page.getByText("No copy targets").waitFor();

  await page.getByRole("button", { name: "Add copy target" }).click();
  await entry(0).getByRole("group", { name: "Copy target 1" }).or(entry(0)).first().waitFor();
  await entry(0)
    .getByLabel("Repository")
    .selectOption(repos.offsite as string);
  await entry(0).getByLabel("keep daily").fill("14");
  await entry(0).getByLabel("keep monthly").fill("12");
  await entry(0)
    .getByLabel(/^prune the target/)
    .check();
  await entry(0).getByLabel("Own schedule (cron)").fill("0 3 * * * * * nope");
  await page.getByRole("button", { name: "Create policy" }).click();
  await entry(0).locator('[data-field="schedule"] .field-error').filter({ hasText: /\S/ }).waitFor();
  expect(await entry(0).getByLabel("Own schedule (cron)").getAttribute("aria-invalid")).toBe("true");

  // The same repository twice: the second entry's repository box says so.
  await entry(0).getByLabel("Own schedule (cron)").fill("0 3 * * *");
  await page.getByRole("button", { name: "Add copy target" }).click();
  await entry(1)
    .getByLabel("Repository")
    .selectOption(repos.offsite as string);
  await page.getByRole("button", { name: "Create policy" }).click();
  await entry(1).locator('[data-field="repository_id"] .field-error').filter({ hasText: "listed twice" }).waitFor();
  expect(await entry(1).locator('[data-field="repository_id"] .field-error').textContent()).toMatch(
    /^repository \S+ is listed twice$/,
  );
  await shot(page, "copy-targets-01-refused");
  await entry(1).getByRole("button", { name: "Remove copy target" }).click();

  await page.getByRole("button", { name: "Create policy" }).click();
  await page.getByText(/^Saved:/).waitFor();
  await page.getByRole("heading", { name: "Policy prod" }).waitFor();
  const listed = page.getByRole("list", { name: "Copy targets" });
  expect(await listed.textContent()).toContain("offsite: keeps");
  expect(await page.locator(".facts").textContent()).toContain("1 copy target");
  const policies = (await t.json("/api/v1/policies")).body.items;
  expect(policies[0].copy_targets).toEqual([
    {
      repository_id: repos.offsite,
      retention_policy: { keep_daily: 14, keep_monthly: 12 },
      prune: true,
      schedule: "0 3 * * *",
    },
  ]);
  // The form comes back filled in.
  expect(await entry(0).getByLabel("keep daily").inputValue()).toBe("14");
  expect(await entry(0).getByLabel("Own schedule (cron)").inputValue()).toBe("0 3 * * *");
  expect(await overflows(page)).toBe(false);
  await shot(page, "copy-targets-02-saved-1366");

  // An edit: back to a copy after each backup, every copy kept.
  await entry(0).getByLabel("Own schedule (cron)").fill("");
  await entry(0).getByLabel("keep daily").fill("");
  await entry(0).getByLabel("keep monthly").fill("");
  await entry(0)
    .getByLabel(/^prune the target/)
    .uncheck();
  await page.getByRole("button", { name: "Save policy" }).click();
  await page.getByText(/^Saved:/).waitFor();
  await page.getByRole("list", { name: "Copy targets" }).filter({ hasText: "keeps every copy" }).waitFor();
  expect((await t.json(`/api/v1/policies/${policies[0].id}`)).body.copy_targets).toEqual([
    { repository_id: repos.offsite, retention_policy: null, prune: false, schedule: null },
  ]);

  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole("heading", { name: "Policy prod" }).waitFor();
  expect(await overflows(page)).toBe(false);
  await shot(page, "copy-targets-03-saved-390");
  expect(consoleErrors).toEqual([]);
});

test("an alert rule for copies: the rule form's checkboxes have copy_stale and copy_failed", async () => {
  await page.setViewportSize({ width: 1366, height: 900 });
  const ch = await t.json("/api/v1/notification-channels", {
    method: "POST",
    body: { name: "ops-hook", kind: "webhook", config: { url: "http://127.0.0.1:9/hook" } },
  });
  expect(ch.status).toBe(201);
  await page.getByRole("navigation").getByRole("link", { name: "Channels" }).click();
  await page.getByRole("heading", { name: "Channels and rules" }).waitFor();
  await page.getByRole("button", { name: "New rule" }).click();
  const form = page.getByRole("form", { name: "New rule" });
  await form.getByLabel("Name", { exact: true }).fill("copies");
  for (const c of ["backup failed", "backup stale", "host offline"])
    await form.getByLabel(c, { exact: true }).uncheck();
  await form.getByLabel("copy lags its schedule", { exact: true }).check();
  await form.getByLabel("copy failed", { exact: true }).check();
  await form.getByRole("button", { name: "Create rule" }).click();
  await page.locator("tr[data-rule]").filter({ hasText: "copies" }).waitFor();
  const rules = (await t.json("/api/v1/alert-rules")).body.items;
  expect(rules[0].conditions).toEqual(["copy_stale", "copy_failed"]);
  expect(consoleErrors).toEqual([]);
});
