import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { ManualClock } from "../server/src/clock.ts";
import { startTestServer, TestAgent, type TestServer } from "../server/src/testing/harness.ts";
import { type RecordingReceiver, recordingReceiver } from "../server/src/testing/recording-receiver.ts";

// Alerts, channels and rules in the web UI, in headless Chromium (Debian's) against the real
// server on loopback with an injected clock, and a real HTTP receiver for the webhook. A channel
// is made (a bad URL refused by field) and tested (the receiver gets it, the UI says what it
// answered), a rule is made (no condition refused by field), the clock makes web-01's backups
// stale, and the alert shows on the Alerts page, the dashboard's banner and the host page; the
// webhook gets it and the channel's delivery log lists it; the alert is muted from its row and
// the mute ended; a channel in use cannot be deleted; a viewer sees it all read-only; and the
// pages fit a phone. Each step saves a screenshot under test-artifacts/ui/, at 1366×900 and
// (the last step) 390×844.
const SHOTS = join(import.meta.dir, "..", "test-artifacts", "ui");
const CHROMIUM = process.env.RF_CHROMIUM ?? "/usr/bin/chromium";
const HOUR = 3_600_000;
/** A step drives several pages in a real browser; bun's default 5 s per test is too tight on a loaded machine. */
const STEP_TIMEOUT_MS = 60_000;
/** The alert needs 2 h of server time; the clock starts that far back, so ages read as now in the browser. */
const clock = new ManualClock(new Date(Date.now() - 2 * HOUR - 120_000));
let t: TestServer;
let hook: RecordingReceiver;
let browser: Browser;
let page: Page;
let agent: TestAgent;
let dbAgent: TestAgent;
let webId = "";
let dbId = "";

const shot = (name: string, p: Page = page) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
async function login(p: Page, user: string, password: string) {
  await p.goto(t.url);
  await p.getByLabel("User name").fill(user);
  await p.getByLabel("Password").fill(password);
  await p.getByRole("button", { name: "Log in" }).click();
  await p.getByRole("heading", { name: "Fleet", exact: true }).waitFor();
}
const overflows = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
/** A heartbeat at the clock's time, stored: the answer to a frame sent after it is the signal. */
async function alive(a: TestAgent) {
  a.send("heartbeat", { sent_at: clock.now().toISOString() });
  const errors = a.of("error").length;
  a.sendRaw("{}");
  await a.until(() => a.of("error").length > errors, "the answer after the heartbeat");
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  t = await startTestServer({ clock });
  hook = recordingReceiver();
  const web = await t.enroll("web-01");
  webId = web.host_id;
  const db = await t.enroll("db-01");
  dbId = db.host_id;
  await t.json(`/api/v1/hosts/${webId}`, { method: "PATCH", body: { labels: { env: "prod", role: "web" } } });
  await t.json(`/api/v1/hosts/${dbId}`, { method: "PATCH", body: { labels: { env: "staging", role: "db" } } });
  agent = await TestAgent.connect(t.url, web.agent_token);
  await agent.hello(5, { hostname: "web-01", resticHost: "web-01" });
  // db-01 online too, without a backup schedule: nothing fires for it.
  dbAgent = await TestAgent.connect(t.url, db.agent_token);
  await dbAgent.hello(5, { hostname: "db-01", resticHost: "db-01" });
  const s = await t.json(`/api/v1/hosts/${webId}/schedules`, {
    method: "POST",
    body: { kind: "backup", cron_expr: "0 * * * *", paths: ["/srv"] },
  });
  expect(s.status).toBe(201);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on("dialog", (d) => void d.accept());
  await login(page, "admin", "admin-password");
});

afterAll(async () => {
  agent?.close();
  dbAgent?.close();
  await browser?.close();
  await hook?.stop();
  await t?.close();
});

test(
  "a webhook channel: a bad URL refused by field, then made; send test reaches the receiver and the UI shows its answer",
  async () => {
    await page.getByRole("navigation").getByRole("link", { name: "Channels" }).click();
    await page.getByRole("heading", { name: "Channels and rules" }).waitFor();
    await page.getByRole("button", { name: "Create the first channel" }).click();
    const form = page.getByRole("form", { name: "New channel" });
    await form.getByLabel("Name", { exact: true }).fill("ops hook");
    // Only the chosen kind's fields.
    await form.getByLabel("Kind").selectOption("email");
    expect(await form.getByLabel(/^SMTP URL/).count()).toBe(1);
    await form.getByLabel("Kind").selectOption("webhook");
    expect(await form.getByLabel(/^SMTP URL/).count()).toBe(0);
    await form.getByLabel("URL", { exact: true }).fill("not a url");
    await form.getByLabel(/^Signing secret/).fill("hook-secret-1");
    await form.getByRole("button", { name: "Create channel" }).click();
    await form
      .locator('[data-field="url"] .field-error')
      .filter({ hasText: /^must be an http:\/\/ or https:\/\/ URL$/ })
      .waitFor();
    await shot("alerts-01-channel-url-refused");
    await form.getByLabel("URL", { exact: true }).fill(`${hook.url}/hook`);
    await form.getByRole("button", { name: "Create channel" }).click();
    const row = page.locator("tr[data-channel]").filter({ hasText: "ops hook" });
    await row.waitFor();
    expect(await row.locator("td").first().textContent()).toBe("webhook");
    expect(await row.locator("td").nth(1).textContent()).toBe(`${hook.url}/hook · signed`);

    await row.getByRole("button", { name: "Send test" }).click();
    const got = await hook.next();
    expect(JSON.parse(got.text)).toMatchObject({ event: "test", alerts: [] });
    const mac = createHmac("sha256", "hook-secret-1").update(got.text).digest("hex");
    expect(got.headers["x-restic-fleet-signature"]).toBe(`sha256=${mac}`);
    const result = page.locator(".test-result");
    await result.filter({ hasText: "accepted the test" }).waitFor();
    expect(await result.textContent()).toBe("✓ ops hook: the receiver accepted the test (HTTP 200)It said: 200 OK: ok");
    await page.locator("tr[data-channel]").filter({ hasText: "ops hook" }).locator("time").first().waitFor();
    await shot("alerts-02-channel-tested");

    // An edit that changes only the name keeps the config (and its secret) as it is.
    await page.locator("tr[data-channel]").getByRole("button", { name: "Edit" }).click();
    const edit = page.getByRole("form", { name: "Edit channel ops hook" });
    expect(await edit.getByLabel(/^Signing secret/).getAttribute("placeholder")).toBe("unchanged");
    await edit.getByLabel("Name", { exact: true }).fill("ops-hook");
    await edit.getByRole("button", { name: "Save channel" }).click();
    await edit.waitFor({ state: "detached" });
    // A changed URL without the secret typed again is stopped by the secret's field.
    await page.locator("tr[data-channel]").getByRole("button", { name: "Edit" }).click();
    const again = page.getByRole("form", { name: "Edit channel ops-hook" });
    await again.getByLabel("URL", { exact: true }).fill(`${hook.url}/other`);
    await again.getByRole("button", { name: "Save channel" }).click();
    await again.locator('[data-field="secret"] .field-error').filter({ hasText: "type it again" }).waitFor();
    await again.getByRole("button", { name: "Cancel" }).click();
    const shown = (await t.json("/api/v1/notification-channels")).body.items;
    expect(shown).toEqual([
      expect.objectContaining({ name: "ops-hook", config: { url: `${hook.url}/hook`, has_secret: true } }),
    ]);
  },
  STEP_TIMEOUT_MS,
);

test(
  "a rule: no condition refused by field, then made with the selector, conditions and channel",
  async () => {
    await page.getByRole("button", { name: "New rule" }).click();
    const form = page.getByRole("form", { name: "New rule" });
    await form.getByLabel("Name", { exact: true }).fill("prod");
    await form.getByLabel("Hosts (selector)").fill("env=prod");
    for (const c of ["backup failed", "backup stale", "host offline"])
      await form.getByLabel(c, { exact: true }).uncheck();
    expect(await form.getByLabel("ops-hook (webhook)").isChecked()).toBe(true);
    await form.getByRole("button", { name: "Create rule" }).click();
    await form.locator('[data-field="conditions"] .field-error').filter({ hasText: "name at least one" }).waitFor();
    await shot("alerts-03-rule-refused");
    for (const c of ["backup failed", "backup stale", "host offline"])
      await form.getByLabel(c, { exact: true }).check();
    await form.getByLabel("Repeat every").fill("4h");
    await form.getByRole("button", { name: "Create rule" }).click();
    const row = page.locator("tr[data-rule]").filter({ hasText: "prod" });
    await row.waitFor();
    expect(await row.locator("td").allTextContents()).toEqual([
      "env=prod",
      "backup failed, backup stale, host offline",
      "ops-hook",
      "1h",
      "every 4h",
      "enabled",
      "EditDelete",
    ]);
    await shot("alerts-04-rule-made");
    const rules = (await t.json("/api/v1/alert-rules")).body.items;
    expect(rules).toEqual([
      expect.objectContaining({ selector: { labels: { env: "prod" } }, offline_after_s: 3600, repeat_after_s: 14400 }),
    ]);
  },
  STEP_TIMEOUT_MS,
);

test(
  "a stale host's alert shows on the Alerts page, the dashboard banner and the host page; the webhook gets it",
  async () => {
    clock.advance(2 * HOUR + 60_000);
    await alive(agent);
    await alive(dbAgent);
    t.server.sweep();
    expect(
      (await t.json("/api/v1/alerts?state=firing")).body.items.map((a: { condition: string }) => a.condition),
    ).toEqual(["backup_stale"]);
    clock.advance(31_000);
    await t.server.domain.alertDelivery.deliver();
    const firing = JSON.parse((await hook.next()).text);
    expect(firing.event).toBe("alert.firing");
    expect(firing.alerts.map((a: { host_name: string }) => a.host_name)).toEqual(["web-01"]);

    await page.getByRole("navigation").getByRole("link", { name: "Fleet" }).click();
    const banner = page.locator(".alert-banner");
    await banner.filter({ hasText: "1 alert firing" }).waitFor();
    expect(await banner.textContent()).toBe("⚠ 1 alert firing on 1 host: 1 backup stale");
    await shot("alerts-05-dashboard-banner");
    await banner.getByRole("link", { name: "1 alert firing" }).click();
    await page.getByRole("heading", { name: "Alerts" }).waitFor();
    const row = page.locator("tr[data-alert]");
    await row.waitFor();
    expect(await row.count()).toBe(1);
    expect(await row.locator("th").textContent()).toBe("backup stale");
    expect(await row.getByRole("link", { name: "web-01" }).getAttribute("href")).toBe(`#/hosts/${webId}`);
    expect(await page.getByRole("button", { name: "Firing (1)" }).getAttribute("aria-pressed")).toBe("true");
    await shot("alerts-06-alerts-page");

    // The filters: a condition that is not firing empties the list, another label too.
    await page.getByLabel("Show alerts of condition").selectOption("host_offline");
    await page.getByText("Nothing firing under these filters.").waitFor();
    await page.getByLabel("Show alerts of condition").selectOption("backup_stale");
    await row.waitFor();
    await page.getByLabel("Filter by labels").fill("env=staging");
    await page.getByLabel("Filter by labels").press("Enter");
    await page.getByText("Nothing firing under these filters.").waitFor();
    expect(page.url()).toEndWith("#/alerts?label=env%3Dstaging&condition=backup_stale");
    await page.getByLabel("Filter by labels").fill("env=prod");
    await page.getByLabel("Filter by labels").press("Enter");
    await row.waitFor();
    await page.getByRole("button", { name: "Resolved" }).click();
    await page.getByText("No resolved alerts under these filters.").waitFor();
    await page.getByRole("button", { name: "Firing (1)" }).click();
    await row.waitFor();

    await row.getByRole("link", { name: "web-01" }).click();
    await page.getByRole("heading", { name: "web-01" }).waitFor();
    const hostBanner = page.locator(".alert-banner");
    await hostBanner.locator("li[data-alert]").waitFor();
    expect(await hostBanner.locator("li[data-alert] strong").textContent()).toBe("backup stale");
    expect(await hostBanner.getByRole("link").getAttribute("href")).toBe(`#/alerts?host_id=${webId}`);
    await shot("alerts-07-host-page");
    // db-01 has nothing firing: no banner.
    await page.goto(`${t.url}/#/hosts/${dbId}`);
    await page.getByRole("heading", { name: "db-01" }).waitFor();
    expect(await page.locator(".alert-banner").isHidden()).toBe(true);

    // The channel's delivery log lists the message, sent, naming the host.
    await page.getByRole("navigation").getByRole("link", { name: "Channels" }).click();
    await page.locator("tr[data-channel]").getByRole("button", { name: "Deliveries" }).click();
    const delivery = page.locator("tr[data-delivery]");
    await delivery.waitFor();
    expect(await delivery.locator("th").textContent()).toBe("alert.firing");
    expect(await delivery.locator('td[data-label="State"]').textContent()).toBe("✓ succeeded");
    expect(await delivery.locator('td[data-label="Hosts"]').textContent()).toBe("web-01");
    await shot("alerts-08-deliveries");
  },
  STEP_TIMEOUT_MS,
);

test(
  "mute from the Alerts page: the reason is required, the mute is listed and marks the row, then it is ended",
  async () => {
    await page.goto(`${t.url}/#/alerts?host_id=${webId}`);
    await page.getByText("Only web-01.").waitFor();
    const row = page.locator("tr[data-alert]");
    await row.getByRole("button", { name: "Mute…" }).click();
    const form = page.getByRole("form", { name: "Mute web-01" });
    await form.getByLabel("every host labelled env=prod, role=web").check();
    await form.getByLabel("1 day").check();
    await form.getByRole("button", { name: "Mute", exact: true }).click();
    await form.locator('[data-field="reason"] .field-error').filter({ hasText: "say why" }).waitFor();
    await shot("alerts-09-mute-form");
    await form.getByLabel("Reason").fill("disk swap on the web tier");
    await form.getByRole("button", { name: "Mute", exact: true }).click();
    await form.waitFor({ state: "detached" });
    const mute = page.locator("tr[data-mute]");
    await mute.waitFor();
    expect(await mute.locator("th").textContent()).toBe("env=prodrole=web");
    expect(await mute.locator('td[data-label="Reason"]').textContent()).toBe("disk swap on the web tier");
    await row.locator(".badge-muted").waitFor();
    const made = (await t.json("/api/v1/mutes")).body.items;
    expect(made).toEqual([
      expect.objectContaining({
        host_id: null,
        selector: { labels: { env: "prod", role: "web" } },
        created_by: "admin",
      }),
    ]);
    expect(Date.parse(made[0].until) - clock.now().getTime()).toBe(86_400_000);
    await shot("alerts-10-muted");

    // This host only, until a date and time: both mutes listed; then both ended.
    await row.getByRole("button", { name: "Mute…" }).click();
    await form.getByLabel("Mute until (date and time)").waitFor();
    await form.getByLabel("until…").check();
    await form.getByLabel("Mute until (date and time)").fill("2099-01-02T03:04");
    await form.getByLabel("Reason").fill("replacing the machine");
    await form.getByRole("button", { name: "Mute", exact: true }).click();
    await mute.nth(1).waitFor();
    // Both made at the same (manual) server time: their order is the ids', so find the host's by its link.
    expect(await mute.filter({ has: page.getByRole("link", { name: "web-01" }) }).count()).toBe(1);
    for (let n = 2; n > 0; n--) {
      await mute.first().getByRole("button", { name: "End mute" }).click();
      await page
        .locator("tr[data-mute]")
        .nth(n - 1)
        .waitFor({ state: "detached" });
    }
    await page.getByText("None: every alert is notified.").waitFor();
    expect((await t.json("/api/v1/mutes")).body.items).toEqual([]);
  },
  STEP_TIMEOUT_MS,
);

test(
  "a channel in use by a rule cannot be deleted: the 409 names the rule",
  async () => {
    await page.getByRole("navigation").getByRole("link", { name: "Channels" }).click();
    await page.locator("tr[data-channel]").getByRole("button", { name: "Delete" }).click();
    const alert = page.getByRole("alert").filter({ hasText: "is used by rule" });
    await alert.waitFor();
    expect(await alert.textContent()).toContain("prod");
    await shot("alerts-11-channel-in-use");
    expect((await t.json("/api/v1/notification-channels")).body.items).toHaveLength(1);
  },
  STEP_TIMEOUT_MS,
);

test(
  "a viewer sees alerts, channels and rules, read-only",
  async () => {
    await t.json("/api/v1/mutes", { method: "POST", body: { host_id: dbId, until: "2h", reason: "rack move" } });
    const made = await t.json("/api/v1/users", {
      method: "POST",
      body: { username: "watcher", password: "viewer-password", role: "viewer" },
    });
    expect(made.status).toBe(201);
    const viewer = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await login(viewer, "watcher", "viewer-password");
    await viewer.locator(".alert-banner").filter({ hasText: "1 alert firing" }).waitFor();
    await viewer.getByRole("navigation").getByRole("link", { name: "Alerts" }).click();
    await viewer.locator("tr[data-alert]").waitFor();
    await viewer.locator("tr[data-mute]").waitFor();
    expect(await viewer.locator("tr[data-mute] th").textContent()).toBe("db-01");
    expect(await viewer.getByRole("button", { name: "Mute…" }).count()).toBe(0);
    expect(await viewer.getByRole("button", { name: "End mute" }).count()).toBe(0);
    await viewer.getByRole("navigation").getByRole("link", { name: "Channels" }).click();
    await viewer.locator("tr[data-channel]").waitFor();
    for (const name of ["New channel", "Send test", "Edit", "Delete", "New rule"]) {
      expect({ name, count: await viewer.getByRole("button", { name, exact: true }).count() }).toEqual({
        name,
        count: 0,
      });
    }
    await viewer.locator("tr[data-rule]").getByRole("button", { name: "View" }).click();
    const form = viewer.getByRole("form", { name: "Edit rule prod" });
    expect(await form.getByLabel("Name", { exact: true }).isDisabled()).toBe(true);
    expect(await form.getByRole("button", { name: "Save rule" }).count()).toBe(0);
    await viewer.locator("tr[data-channel]").getByRole("button", { name: "Deliveries" }).click();
    await viewer.locator("tr[data-delivery]").waitFor();
    await shot("alerts-12-viewer", viewer);
    await viewer.close();
  },
  STEP_TIMEOUT_MS,
);

test(
  "on a phone (390×844) the pages fit the screen",
  async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await login(phone, "admin", "admin-password");
    for (const [hash, ready, name] of [
      ["#/", ".alert-banner .alert-count", "alerts-phone-01-dashboard"],
      ["#/alerts", "tr[data-mute]", "alerts-phone-02-alerts"],
      ["#/channels", "tr[data-rule]", "alerts-phone-03-channels"],
      [`#/hosts/${webId}`, ".alert-banner li", "alerts-phone-04-host"],
    ] as const) {
      await phone.goto(`${t.url}/${hash}`);
      await phone.locator(ready).first().waitFor();
      await shot(name, phone);
      expect({ hash, overflows: await overflows(phone) }).toEqual({ hash, overflows: false });
    }
    // The forms too.
    await phone.goto(`${t.url}/#/alerts`);
    await phone.locator("tr[data-alert]").getByRole("button", { name: "Mute…" }).click();
    await phone.getByRole("form", { name: "Mute web-01" }).waitFor();
    await shot("alerts-phone-05-mute-form", phone);
    expect(await overflows(phone)).toBe(false);
    await phone.goto(`${t.url}/#/channels`);
    await phone.locator("tr[data-rule]").getByRole("button", { name: "Edit" }).click();
    await phone.getByRole("form", { name: "Edit rule prod" }).waitFor();
    await phone.locator("tr[data-channel]").getByRole("button", { name: "Edit" }).click();
    await phone.getByRole("form", { name: "Edit channel ops-hook" }).waitFor();
    await shot("alerts-phone-06-channel-form", phone);
    expect(await overflows(phone)).toBe(false);
    await phone.close();
  },
  STEP_TIMEOUT_MS,
);
