import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { startTestServer, type TestServer } from "../server/src/testing/harness.ts";

// Repositories and policies in the web UI, in headless Chromium (Debian's) against the real
// server on loopback, with three labelled hosts: db-01 and db-02 {env=prod, role=db}, web-01
// {env=prod, role=web}. A repository is made (a shared one refused without its password, by
// field), a policy is made with a live count of the hosts its selector matches and the cron
// preview, its schedule shows on a host as "from policy", its cron is edited, a repository in
// use cannot be deleted, and a viewer sees the policy read-only. Each step saves a screenshot
// under test-artifacts/ui/, at 1366×900 and (the last step) at 390×844.
const SHOTS = join(import.meta.dir, "..", "test-artifacts", "ui");
const CHROMIUM = process.env.RF_CHROMIUM ?? "/usr/bin/chromium";
let t: TestServer;
let browser: Browser;
let page: Page;
const hosts: Record<string, string> = {};
let policyId = "";

const shot = (name: string, p: Page = page) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const launch = () =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
async function login(p: Page, user: string, password: string) {
  await p.goto(t.url);
  await p.getByLabel("User name").fill(user);
  await p.getByLabel("Password").fill(password);
  await p.getByRole("button", { name: "Log in" }).click();
  await p.getByRole("heading", { name: "Fleet", exact: true }).waitFor();
}
/** Both pages' horizontal overflow: a page wider than its viewport scrolls sideways on a phone. */
const overflows = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  t = await startTestServer();
  for (const [name, labels] of [
    ["db-01", { env: "prod", role: "db" }],
    ["db-02", { env: "prod", role: "db" }],
    ["web-01", { env: "prod", role: "web" }],
  ] as const) {
    const id = (await t.enroll(name)).host_id;
    hosts[name] = id;
    expect((await t.json(`/api/v1/hosts/${id}`, { method: "PATCH", body: { labels } })).status).toBe(200);
  }
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  // Delete buttons and the keys export ask first.
  page.on("dialog", (d) => void d.accept());
  await login(page, "admin", "admin-password");
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

test("repositories: a shared one is refused without a password, by field; then two are made and listed", async () => {
  await page.getByRole("navigation").getByRole("link", { name: "Repositories" }).click();
  await page.getByRole("heading", { name: "Repositories" }).waitFor();
  await page.getByRole("button", { name: "New repository" }).click();
  const form = page.getByRole("form", { name: "New repository" });
  await form.getByLabel("Name", { exact: true }).fill("shared-nas");
  await form.getByLabel("Path on the host").fill("/srv/restic/shared");
  await form.getByRole("button", { name: "Create repository" }).click();
  await form.locator('[data-field="password"] .field-error').filter({ hasText: "needs a password" }).waitFor();
  await shot("policies-01-repo-password-refused");
  await form.getByLabel(/^Repository password/).fill("correct horse battery staple");
  await form.getByRole("button", { name: "Create repository" }).click();
  await page.locator("tr[data-repository]").filter({ hasText: "shared-nas" }).waitFor();

  await page.getByRole("button", { name: "New repository" }).click();
  await form.getByLabel("Name", { exact: true }).fill("per-host");
  await form.getByLabel("Path on the host").fill("/srv/restic/{host}");
  await form.getByText("Per-host template").waitFor();
  await form.getByLabel(/^initialise the repository/).check();
  await form.getByRole("button", { name: "Create repository" }).click();
  const row = page.locator("tr[data-repository]").filter({ hasText: "per-host" });
  await row.waitFor();
  expect(await row.locator("td").allTextContents()).toEqual([
    "/srv/restic/{host}",
    "per host",
    "generated per host",
    "yes",
    "MaintenanceEditTest connectionExport keysDelete",
  ]);
  expect(await page.locator("tr[data-repository]").filter({ hasText: "shared-nas" }).textContent()).toContain("shared");

  // Editing leaves the password as is unless something is typed.
  await page
    .locator("tr[data-repository]")
    .filter({ hasText: "shared-nas" })
    .getByRole("button", { name: "Edit" })
    .click();
  const edit = page.getByRole("form", { name: "Edit repository shared-nas" });
  expect(await edit.getByLabel(/^Repository password/).getAttribute("placeholder")).toBe("unchanged");
  await edit.getByRole("button", { name: "Save repository" }).click();
  await edit.waitFor({ state: "detached" });
  const shared = (await t.json("/api/v1/repositories")).body.items.find(
    (r: { name: string }) => r.name === "shared-nas",
  );
  expect(shared.has_password).toBe(true);

  // The keys export, under its warning.
  await page
    .locator("tr[data-repository]")
    .filter({ hasText: "shared-nas" })
    .getByRole("button", { name: "Export keys" })
    .click();
  await page.getByRole("heading", { name: "Keys of shared-nas" }).waitFor();
  expect(await page.locator(".keys .warn-text").textContent()).toContain("passwords in clear");
  expect(JSON.parse((await page.locator("pre.keys-json").textContent()) ?? "").password).toBe(
    "correct horse battery staple",
  );
  await shot("policies-02-repositories-keys");
  await page.getByRole("button", { name: "Hide" }).click();
});

test("a policy: the matched-host count follows the selector as it is typed, the cron preview shows, errors sit by their field", async () => {
  await page.getByRole("navigation").getByRole("link", { name: "Policies" }).click();
  await page.getByRole("heading", { name: "Policies" }).waitFor();
  await page.getByRole("link", { name: "Create the first policy" }).click();
  await page.getByRole("heading", { name: "New policy" }).waitFor();
  const form = page.getByRole("form", { name: "Policy" });
  const matches = form.locator(".match-preview");
  await matches.filter({ hasText: "Every host: matches 3 hosts: db-01, db-02, web-01" }).waitFor();

  await form.getByLabel("Name", { exact: true }).fill("db-backups");
  await form.getByRole("button", { name: "Add label" }).click();
  await form.getByLabel("Label key 1").fill("role");
  await form.getByLabel("Label value 1").fill("web");
  await matches.filter({ hasText: /^matches 1 host: web-01$/ }).waitFor();
  await form.getByLabel("Label value 1").fill("db");
  await matches.filter({ hasText: /^matches 2 hosts: db-01, db-02$/ }).waitFor();
  await form.getByRole("button", { name: "Add label" }).click();
  await form.getByLabel("Label key 2").fill("env");
  await form.getByLabel("Label value 2").fill("staging");
  await matches.filter({ hasText: /^matches 0 hosts$/ }).waitFor();
  await form.getByRole("button", { name: "Remove label 2" }).click();
  await matches.filter({ hasText: /^matches 2 hosts/ }).waitFor();

  await form.getByLabel("Repository").selectOption({ label: "per-host (/srv/restic/{host})" });
  await form.getByLabel("Priority").fill("10");
  await form.getByRole("button", { name: "Add schedule" }).click();
  const s0 = form.locator('[data-scope="schedules.0"]');
  const cron = s0.getByLabel("Cron expression");
  await cron.fill("0 3 * *");
  await s0.locator('[data-field="cron_expr"] .field-error').filter({ hasText: /./ }).waitFor();
  await cron.fill("0 3 * * *");
  await s0.locator(".preview li").nth(4).waitFor();
  expect(await s0.locator('[data-field="cron_expr"] .field-error').textContent()).toBe("");
  expect(await s0.locator(".preview li").count()).toBe(5);

  // No paths: the server names schedules.0.paths, shown in that schedule's paths field.
  await form.getByRole("button", { name: "Create policy" }).click();
  await s0
    .locator('[data-field="paths"] .field-error')
    .filter({ hasText: /^a backup schedule needs at least one path$/ })
    .waitFor();
  await shot("policies-03-form-errors");
  await s0.getByLabel("Paths (one per line, absolute)").fill("/srv/data");
  await form.getByRole("button", { name: "Create policy" }).click();
  await page.getByRole("heading", { name: "Policy db-backups" }).waitFor();
  await page.getByRole("status").filter({ hasText: "Saved: 0 of 2 in sync" }).waitFor();
  policyId = /#\/policies\/(.+)$/.exec(page.url())?.[1] ?? "";
  expect(policyId).toStartWith("pol");
  expect(
    await page
      .locator('section[aria-labelledby="ph-h"] tr[data-host]')
      .evaluateAll((r) => r.map((x) => x.getAttribute("data-host") ?? "")),
  ).toEqual([hosts["db-01"] ?? "", hosts["db-02"] ?? ""]);
  await shot("policies-04-policy-saved");

  await page.getByRole("link", { name: "Policies", exact: true }).first().click();
  const row = page.locator(`tr[data-policy="${policyId}"]`);
  await row.waitFor();
  expect(await row.locator("td").allTextContents()).toEqual([
    "role=db",
    "per-host",
    "10",
    "enabled",
    "backup every day at 03:00",
    "0 of 2 in sync",
    "–",
  ]);
});

test("a second policy at the same priority with another repository is refused by its priority field", async () => {
  await page.getByRole("link", { name: "New policy" }).click();
  const form = page.getByRole("form", { name: "Policy" });
  await form.getByLabel("Name", { exact: true }).fill("db-nas");
  await form.getByRole("button", { name: "Add label" }).click();
  await form.getByLabel("Label key 1").fill("role");
  await form.getByLabel("Label value 1").fill("db");
  await form.getByLabel("Repository").selectOption({ label: "shared-nas (/srv/restic/shared)" });
  await form.getByLabel("Priority").fill("10");
  await form.getByRole("button", { name: "Create policy" }).click();
  await form.locator('[data-field="priority"] .field-error').filter({ hasText: /./ }).waitFor();
  await shot("policies-05-conflict-refused");
  expect((await t.json("/api/v1/policies")).body.items).toHaveLength(1);
});

test("the host page: the policy's schedule 'from policy', not editable there; the repository from the policy; sync pending", async () => {
  await page.goto(`${t.url}/#/hosts/${hosts["db-01"]}`);
  await page.getByRole("heading", { name: "db-01" }).waitFor();
  const row = page.locator("tr[data-schedule]").filter({ hasText: "from policy db-backups" });
  await row.waitFor();
  expect(await row.getByRole("link", { name: "db-backups" }).getAttribute("href")).toBe(`#/policies/${policyId}`);
  for (const name of ["Edit", "Delete"]) {
    expect(await row.getByRole("button", { name }).isDisabled()).toBe(true);
  }
  expect(await row.textContent()).toContain("Change it in its policy.");
  expect(await page.locator(".repo-source").textContent()).toBe(
    "From policy db-backups: repository per-host. Settings saved below would replace it for this host.",
  );
  const host = (await t.json(`/api/v1/hosts/${hosts["db-01"]}`)).body;
  expect(await page.locator(".sync-state").textContent()).toBe(
    `… pending (version ${host.schedule_version}, acked ${host.acked_schedule_version})`,
  );
  await shot("policies-06-host-from-policy");
});

test("editing the policy's cron changes the host's copy", async () => {
  await page.goto(`${t.url}/#/policies/${policyId}`);
  const form = page.getByRole("form", { name: "Policy" });
  const s0 = form.locator('[data-scope="schedules.0"]');
  await s0.getByLabel("Cron expression").fill("30 4 * * *");
  await s0.locator(".preview li").filter({ hasText: "4:30" }).first().waitFor();
  await form.getByRole("button", { name: "Save policy" }).click();
  await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  const policy = (await t.json(`/api/v1/policies/${policyId}`)).body;
  expect(policy.schedules.map((s: { cron_expr: string }) => s.cron_expr)).toEqual(["30 4 * * *"]);
  await page.goto(`${t.url}/#/hosts/${hosts["db-02"]}`);
  await page
    .locator("tr[data-schedule]")
    .filter({ hasText: "30 4 * * *" })
    .filter({ hasText: "from policy" })
    .waitFor();
});

test("a repository in use cannot be deleted: the 409 names the policy", async () => {
  await page.getByRole("navigation").getByRole("link", { name: "Repositories" }).click();
  await page
    .locator("tr[data-repository]")
    .filter({ hasText: "per-host" })
    .getByRole("button", { name: "Delete" })
    .click();
  const alert = page.getByRole("alert").filter({ hasText: "in use by" });
  await alert.waitFor();
  expect(await alert.textContent()).toContain("db-backups");
  await shot("policies-07-repo-in-use");
  expect((await t.json("/api/v1/repositories")).body.items).toHaveLength(2);
});

test("a viewer sees the policy read-only", async () => {
  const made = await t.json("/api/v1/users", {
    method: "POST",
    body: { username: "watcher", password: "viewer-password", role: "viewer" },
  });
  expect(made.status).toBe(201);
  const viewer = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await login(viewer, "watcher", "viewer-password");
  await viewer.goto(`${t.url}/#/policies/${policyId}`);
  await viewer.getByRole("heading", { name: "Policy db-backups" }).waitFor();
  expect(await viewer.getByLabel("Name", { exact: true }).isDisabled()).toBe(true);
  expect(await viewer.getByRole("button", { name: "Save policy" }).count()).toBe(0);
  expect(await viewer.getByRole("button", { name: "Delete policy" }).count()).toBe(0);
  await viewer.goto(`${t.url}/#/repositories`);
  await viewer.locator("tr[data-repository]").first().waitFor();
  expect(await viewer.getByRole("button", { name: "Export keys" }).count()).toBe(0);
  await viewer.close();
});

test("on a phone (390×844) the pages fit the screen", async () => {
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  phone.on("dialog", (d) => void d.accept());
  await login(phone, "admin", "admin-password");
  for (const [hash, ready, name] of [
    ["#/policies", `tr[data-policy="${policyId}"]`, "policies-phone-01-list"],
    [`#/policies/${policyId}`, ".policy-schedule .preview li", "policies-phone-02-form"],
    ["#/repositories", "tr[data-repository]", "policies-phone-03-repositories"],
    [`#/hosts/${hosts["db-01"]}`, ".from-policy", "policies-phone-04-host"],
  ] as const) {
    await phone.goto(`${t.url}/${hash}`);
    await phone.locator(ready).first().waitFor();
    await shot(name, phone);
    expect({ hash, overflows: await overflows(phone) }).toEqual({ hash, overflows: false });
  }
  await phone.close();
});
