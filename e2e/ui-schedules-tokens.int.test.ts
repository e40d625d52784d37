import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { startTestServer, type TestServer } from "../server/src/testing/harness.ts";
import { launchChromium, login, overflows, shot, shotOf } from "./ui-session.ts";

// Schedules people can read and token management (issue 17, items 4, 10 and 12), in headless
// Chromium against the real server on loopback: a forget schedule's row says what it keeps and
// whether it prunes, in words; the schedule form's presets write the cron and its words follow;
// the policies list says its schedules in words; the Tokens page lists an enrollment token and
// API tokens, makes one (shown once), and revokes both, after which the server refuses them.
// Screenshots go to test-artifacts/ui/schedtokens-*.png.
let t: TestServer;
let browser: Browser;
let page: Page;
let hostId = "";
let enrollmentId = "";
let enrollmentSecret = "";
let apiSecret = "";

const enrollWith = (secret: string, hostname: string) =>
  t.json("/api/v1/agent/enroll", { method: "POST", body: { token: secret, hostname }, token: null });

beforeAll(async () => {
  t = await startTestServer();
  const made = await t.json("/api/v1/enrollment-tokens", {
    method: "POST",
    body: { uses: 3, expires_in: "7d", labels: { env: "prod" } },
  });
  enrollmentId = made.body.id;
  enrollmentSecret = made.body.token;
  hostId = (await enrollWith(enrollmentSecret, "db-01")).body.host_id;
  const forget = await t.json(`/api/v1/hosts/${hostId}/schedules`, {
    method: "POST",
    body: {
      kind: "forget",
      cron_expr: "0 3 * * 0",
      retention_policy: { keep_last: 10, keep_daily: 7, keep_weekly: 4, keep_monthly: 12 },
      options: { prune: true },
      enabled: true,
    },
  });
  expect(forget.status).toBe(201);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  // Revoke asks first.
  page.on("dialog", (d) => void d.accept());
  await login(page, t.url, "admin", "admin-password");
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

test("a forget schedule reads as its retention in words and says it prunes; its cron in words", async () => {
  await page.goto(`${t.url}/#/hosts/${hostId}`);
  const row = page.locator("tr[data-schedule]").filter({ hasText: "forget" });
  await row.waitFor();
  const text = (await row.textContent()) ?? "";
  expect(text).toContain("keeps the last 10, 7 daily, 4 weekly, 12 monthly; prunes afterwards");
  expect(text).toContain("every Sunday at 03:00");
  expect(text).not.toContain("{");
  await shot(page, "schedtokens-01-host-schedules");
});

test("the presets write the cron, its words and preview follow; a typed cron picks Custom", async () => {
  await page.getByRole("button", { name: "Add schedule" }).click();
  const form = page.locator("form.schedule-form");
  const cron = form.getByLabel("Cron expression");
  const words = form.locator(".cron-words");
  const preview = form.locator(".preview li").first();
  // A new schedule opens on "Nightly" at 02:00, its default cron.
  expect(await form.getByLabel("Repeat").inputValue()).toBe("nightly");
  expect(await words.textContent()).toBe("every day at 02:00");
  await preview.waitFor();

  await form.getByLabel("Repeat").selectOption("weekly");
  await form.getByLabel("On", { exact: true }).selectOption({ label: "Wednesday" });
  await form.getByLabel("At", { exact: true }).fill("04:15");
  expect(await cron.inputValue()).toBe("15 4 * * 3");
  expect(await words.textContent()).toBe("every Wednesday at 04:15");
  // The preview is asked again of the server: its first run is now a Wednesday at 04:15 (local).
  await page.waitForFunction(() => {
    const el = document.querySelector("form.schedule-form .preview li time");
    const d = el ? new Date(el.getAttribute("datetime") ?? "") : null;
    return !!d && d.getDay() === 3 && d.getHours() === 4 && d.getMinutes() === 15;
  });
  await shot(page, "schedtokens-02-preset-weekly");

  await form.getByLabel("Repeat").selectOption("hourly");
  await form.getByLabel("At minute").fill("20");
  expect(await cron.inputValue()).toBe("20 * * * *");
  expect(await words.textContent()).toBe("every hour at :20");
  expect(await form.getByLabel("At", { exact: true }).isVisible()).toBe(false);

  await cron.fill("*/5 * * * *");
  expect(await form.getByLabel("Repeat").inputValue()).toBe("custom");
  expect(await words.textContent()).toBe("every 5 minutes");
  await cron.fill("0 2 1 * 1");
  expect(await words.textContent()).toBe(""); // not put in words: the expression alone
  await cron.fill("30 3 * * 1");
  expect(await form.getByLabel("Repeat").inputValue()).toBe("weekly");
  expect(await form.getByLabel("On", { exact: true }).inputValue()).toBe("1");

  // The retention in words follows the fields.
  await form.getByLabel("Kind").selectOption("forget");
  await form.getByLabel("keep last").fill("3");
  await form.getByLabel("keep weekly").fill("4");
  const retention = form.locator(".retention-words");
  expect(await retention.textContent()).toBe("keeps the last 3, 4 weekly; does not prune");
  await form.getByLabel("also prune unreferenced data").check();
  expect(await retention.textContent()).toBe("keeps the last 3, 4 weekly; prunes afterwards");
  await shot(page, "schedtokens-03-retention-words");
  await form.getByRole("button", { name: "Create schedule" }).click();
  const made = page.locator("tr[data-schedule]").filter({ hasText: "every Monday at 03:30" });
  await made.waitFor();
  expect(await made.textContent()).toContain("keeps the last 3, 4 weekly; prunes afterwards");
});

test("the policies list says each schedule in words", async () => {
  const p = await t.json("/api/v1/policies", {
    method: "POST",
    body: {
      name: "prod-retention",
      selector: { labels: { env: "prod" } },
      schedules: [{ kind: "forget", cron_expr: "15 * * * *", retention_policy: { keep_daily: 7 }, enabled: true }],
      enabled: true,
    },
  });
  expect(p.status).toBe(201);
  await page.goto(`${t.url}/#/policies`);
  const row = page.locator(`tr[data-policy="${p.body.id}"]`);
  await row.waitFor();
  expect(await row.textContent()).toContain("forget every hour at :15 · keeps 7 daily; does not prune");
  expect(await row.textContent()).not.toContain("{");
  await shotOf(page.locator("table.policies"), "schedtokens-07-policies");
});

test("Tokens lists the enrollment token (uses, labels, maker) and the API tokens; Add hosts links it", async () => {
  await page.goto(`${t.url}/#/enroll`);
  await page.locator(`tr[data-token="${enrollmentId}"]`).waitFor();
  await page.locator(".tokens-link").getByRole("link", { name: "Tokens" }).click();
  await page.getByRole("heading", { name: "Tokens", exact: true }).waitFor();
  expect(await page.getByRole("navigation").getByRole("link", { name: "Tokens" }).getAttribute("aria-current")).toBe(
    "page",
  );
  const enr = page.locator(`table.tokens tr[data-token="${enrollmentId}"]`);
  await enr.waitFor();
  const text = (await enr.textContent()) ?? "";
  expect(text).toContain("2 of 3 left (1 used)");
  expect(text).toContain("env=prod");
  expect(text).toContain("by admin");
  expect(text).toContain("active");
  const harness = page.locator("table.api-tokens tr[data-api-token]").filter({ hasText: "tests" });
  expect(await harness.textContent()).toContain("admin");
  expect(await page.locator("main").textContent()).not.toContain(enrollmentSecret);
  await shot(page, "schedtokens-04-tokens");
});

test("an API token is made and shown once; it works, then is revoked, greyed, and refused (401)", async () => {
  await page.getByLabel("Name", { exact: true }).fill("report-script");
  await page.getByRole("button", { name: "Create API token" }).click();
  const shown = page.locator(".new-token");
  await shown.waitFor();
  apiSecret = (await shown.locator("pre.token").textContent())?.trim() ?? "";
  expect(apiSecret).toStartWith("rft_");
  expect(await shown.textContent()).toContain("it will not be shown again");
  expect(await shown.getByRole("button", { name: "Copy" }).count()).toBe(1);
  const row = page.locator("table.api-tokens tr[data-api-token]").filter({ hasText: "report-script" });
  await row.waitFor();
  expect(await row.textContent()).toContain("never"); // not used yet
  await shot(page, "schedtokens-05-api-token-made");
  expect((await t.json("/api/v1/hosts", { token: apiSecret })).status).toBe(200);

  // Shown once: after a reload only its name and id are listed, and it was used.
  await page.reload();
  await row.waitFor();
  expect(await page.locator("main").textContent()).not.toContain(apiSecret);
  expect(await row.locator('[data-label="Last used"] time').count()).toBe(1);

  await row.getByRole("button", { name: "Revoke" }).click();
  await page.locator("table.api-tokens tr.token-inactive").filter({ hasText: "report-script" }).waitFor();
  expect(await row.locator(".badge-token-revoked").count()).toBe(1);
  expect(await row.getByRole("button", { name: "Revoke" }).count()).toBe(0);
  expect((await t.json("/api/v1/hosts", { token: apiSecret })).status).toBe(401);
});

test("the enrollment token is revoked there, greyed, and enrolls no more (401)", async () => {
  const row = page.locator(`table.tokens tr[data-token="${enrollmentId}"]`);
  await row.getByRole("button", { name: "Revoke" }).click();
  await page.locator(`table.tokens tr.token-inactive[data-token="${enrollmentId}"] .badge-token-revoked`).waitFor();
  expect(await row.getByRole("button", { name: "Revoke" }).count()).toBe(0);
  await shot(page, "schedtokens-06-revoked");
  expect((await enrollWith(enrollmentSecret, "db-02")).status).toBe(401);
});

test("a viewer has no Tokens link and the page says it is for admins", async () => {
  const made = await t.json("/api/v1/users", {
    method: "POST",
    body: { username: "watcher", password: "viewer-password", role: "viewer" },
  });
  expect(made.status).toBe(201);
  const viewer = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await login(viewer, t.url, "watcher", "viewer-password");
  expect(await viewer.getByRole("navigation").getByRole("link", { name: "Tokens" }).count()).toBe(0);
  await viewer.goto(`${t.url}/#/tokens`);
  await viewer.getByText("Only admins manage tokens.").waitFor();
  await viewer.close();
});

test("on a phone (390×844) the host schedules, the form and the tokens page fit the screen", async () => {
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await login(phone, t.url, "admin", "admin-password");
  await phone.goto(`${t.url}/#/hosts/${hostId}`);
  await phone.locator("tr[data-schedule]").first().waitFor();
  await phone.getByRole("button", { name: "Add schedule" }).click();
  await phone.locator("form.schedule-form").getByLabel("Repeat").selectOption("weekly");
  await phone.locator("form.schedule-form .preview li").first().waitFor();
  expect(await overflows(phone)).toBe(false);
  await shot(phone, "schedtokens-phone-01-host");
  await shotOf(phone.locator("tr[data-schedule]").first(), "schedtokens-phone-01a-schedule-row");
  await shotOf(phone.locator("form.schedule-form"), "schedtokens-phone-01b-schedule-form");
  await phone.goto(`${t.url}/#/tokens`);
  await phone.locator("table.api-tokens tr[data-api-token]").first().waitFor();
  expect(await overflows(phone)).toBe(false);
  await shot(phone, "schedtokens-phone-02-tokens");
  await phone.goto(`${t.url}/#/policies`);
  await phone.locator("tr[data-policy]").first().waitFor();
  expect(await overflows(phone)).toBe(false);
  await shot(phone, "schedtokens-phone-03-policies");
  await phone.close();
});
