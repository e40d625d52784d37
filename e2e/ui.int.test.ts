import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { type Fleet, runAgentCli, startFleet, tempDir } from "./fleet.ts";
import { TestHost } from "./host.ts";

// The web UI in headless Chromium (Debian's), against the real server, the compiled agent and
// the real restic. Each step saves a screenshot under test-artifacts/ui/.
const SHOTS = join(import.meta.dir, "..", "test-artifacts", "ui");
const CHROMIUM = process.env.RF_CHROMIUM ?? "/usr/bin/chromium";
let fleet: Fleet;
let host: TestHost;
let work: string;
let browser: Browser;
let page: Page;
let data: string;

async function shot(name: string, p: Page = page) {
  await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  work = tempDir("rf-ui-");
  data = join(work, "data");
  mkdirSync(join(data, "docs"), { recursive: true });
  writeFileSync(join(data, "docs", "hello.txt"), "hello from the UI test\n");
  // Enough incompressible data for restic to report progress more than once.
  for (let i = 0; i < 6; i++) writeFileSync(join(data, `blob${i}.bin`), randomBytes(25 * 1024 * 1024));
  fleet = await startFleet();
  host = new TestHost(fleet, work);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  host?.events?.close();
  await fleet?.close();
  rmSync(work, { recursive: true, force: true });
});

async function login(p: Page, user: string, password: string) {
  await p.goto(fleet.url);
  await p.getByLabel("User name").fill(user);
  await p.getByLabel("Password").fill(password);
  await p.getByRole("button", { name: "Log in" }).click();
  await p.getByRole("heading", { name: "Fleet", exact: true }).waitFor();
}

test("1. log in (a wrong password is refused with a clear message first)", async () => {
  await page.goto(fleet.url);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("wrong user name or password").waitFor();
  await shot("01-login-error");
  await page.getByLabel("Password").fill("e2e-admin-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Fleet", exact: true }).waitFor();
  await page.getByText("No hosts yet").waitFor();
  await shot("01-dashboard-empty");
});

test("2-3. create an enrollment token, enroll, and see the host appear online", async () => {
  await page.getByRole("navigation").getByRole("link", { name: "Add hosts" }).click();
  await page.getByLabel("How many hosts may enroll with it").fill("2");
  await page.getByRole("button", { name: "Create enrollment token" }).click();
  const token = (await page.locator("pre.token").textContent())?.trim() ?? "";
  expect(token).toStartWith("rfe_");
  await page
    .locator("pre")
    .filter({ hasText: `/EnrollToken:${token}` })
    .waitFor();
  await shot("02-enrollment-token");

  const r = runAgentCli(["enroll", "--server", fleet.url, "--token", token, "--state-dir", host.stateDir]);
  expect(r.code).toBe(0);
  host.hostId = /host (\S+);/.exec(r.stdout)?.[1] ?? "";
  await page.getByRole("navigation").getByRole("link", { name: "Fleet", exact: true }).click();
  await host.start();
  // The dashboard follows the event stream: the row turns online without a reload.
  await page.locator(`tr[data-host="${host.hostId}"] .badge-online`).waitFor();
  await shot("03-host-online");
});

test("4. set the repository config (the password is write-only)", async () => {
  await page.locator(`tr[data-host="${host.hostId}"] a`).click();
  await page.getByLabel("Repository URL").fill(join(work, "repo"));
  await page.getByLabel(/^Password/).fill("ui-repo-password");
  await page.getByRole("button", { name: "Save repository settings" }).click();
  await page.getByText("Saved; the agent has the new settings.").waitFor();
  expect(await page.getByLabel(/^Password/).inputValue()).toBe("");
  expect(await page.content()).not.toContain("ui-repo-password");
  // A new repository needs init: run it from the page.
  await page.getByLabel("Job", { exact: true }).selectOption("init");
  await page.getByRole("button", { name: "Run now" }).click();
  await page.locator(".badge-succeeded").first().waitFor();
  await shot("04-repository-set");
  await page.goBack();
});

test("5. a backup schedule with a bad cron shows the inline error, then saves once fixed", async () => {
  await page.getByRole("button", { name: "Add schedule" }).click();
  const cron = page.getByLabel("Cron expression");
  await cron.fill("0 25 * * *");
  await page.locator('[data-field="cron_expr"] .field-error').filter({ hasText: "hour" }).waitFor();
  await page.getByLabel("Paths (one per line, absolute)").fill(data);
  await shot("05-cron-error");
  await page.getByRole("button", { name: "Create schedule" }).click();
  await page.locator('[data-field="cron_expr"] .field-error').filter({ hasText: "hour" }).waitFor();
  await cron.fill("0 3 * * *");
  await page.locator(".preview li").first().waitFor();
  expect(await page.locator(".preview li").count()).toBe(5);
  await page.getByRole("button", { name: "Create schedule" }).click();
  await page.locator("tr[data-schedule]").filter({ hasText: "0 3 * * *" }).waitFor();
  await shot("05-schedule-saved");
});

test("6. run a backup now and watch progress and the log tail update live until it succeeds", async () => {
  await page.getByLabel("Job", { exact: true }).selectOption("backup");
  await page.getByRole("button", { name: "Run now" }).click();
  await page.getByRole("heading", { name: /backup job/ }).waitFor();
  // Record every progress value the page shows, from inside the page.
  await page.evaluate(() => {
    const bar = document.querySelector('[role="progressbar"]') as HTMLElement;
    const seen: string[] = [bar.getAttribute("aria-valuenow") ?? ""];
    (window as unknown as { seen: string[] }).seen = seen;
    new MutationObserver(() => seen.push(bar.getAttribute("aria-valuenow") ?? "")).observe(bar, { attributes: true });
  });
  await page.locator(".progress-text").filter({ hasText: "files" }).waitFor();
  await shot("06-job-running");
  await page
    .getByRole("heading", { name: /backup job/ })
    .locator(".badge-succeeded")
    .waitFor();
  await page.locator(".log li").first().waitFor();
  const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
  expect(seen.at(-1)).toBe("100");
  expect(new Set(seen).size).toBeGreaterThanOrEqual(2);
  expect(await page.locator(".summary").textContent()).toContain("Snapshot");
  await shot("06-job-succeeded");
  await page.setViewportSize({ width: 360, height: 780 });
  await shot("06-job-360");
  await page.setViewportSize({ width: 1280, height: 900 });
});

test("7-8. the snapshot is listed; restore it to a temp dir and check the files", async () => {
  // The snapshot report follows job.finished: wait for it (seen from the agent's start on), so the
  // page's first load already holds the snapshot. (The host page also listens before its first
  // load, so a report that lands during it is not missed.)
  await host.events?.until((e) => e.type === "snapshots.updated" && e.host_id === host.hostId, 0);
  await page.locator(".crumbs a").nth(1).click();
  const row = page.locator("tr[data-snapshot]").first();
  await row.waitFor();
  await shot("07-snapshots");
  await row.getByRole("button", { name: "Restore…" }).click();
  const target = join(work, "restored");
  await page.getByLabel("Target folder (absolute)").fill(target);
  await page.getByLabel("Include").fill(join(data, "docs"));
  await page.getByRole("button", { name: "Run now" }).click();
  await page
    .getByRole("heading", { name: /restore job/ })
    .locator(".badge-succeeded")
    .waitFor();
  await shot("08-restored");
  expect(readFileSync(join(target, data, "docs", "hello.txt"), "utf8")).toBe("hello from the UI test\n");
  expect(() => readFileSync(join(target, data, "blob0.bin"))).toThrow();
});

test("dashboard screenshots at desktop and 360 px", async () => {
  await page.getByRole("navigation").getByRole("link", { name: "Fleet", exact: true }).click();
  await page.locator(`tr[data-host="${host.hostId}"] .badge-ok`).waitFor();
  await shot("dashboard-desktop");
  await page.setViewportSize({ width: 360, height: 780 });
  await shot("dashboard-360");
  await page.setViewportSize({ width: 1280, height: 900 });
});

test("9. a viewer sees no action buttons, and a forged request is refused", async () => {
  const created = await fleet.api("/users", "POST", {
    username: "watcher",
    password: "viewer-password",
    role: "viewer",
  });
  expect(created.status).toBe(201);
  const viewer = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await login(viewer, "watcher", "viewer-password");
  await viewer.locator(`tr[data-host="${host.hostId}"] a`).click();
  await viewer.getByRole("heading", { name: "Snapshots" }).waitFor();
  for (const name of [
    "Run now",
    "Add schedule",
    "Revoke host",
    "Save repository settings",
    "Save labels",
    "Restore…",
    "Edit",
    "Delete",
  ]) {
    expect(await viewer.getByRole("button", { name }).count()).toBe(0);
  }
  expect(await viewer.getByRole("link", { name: "Add hosts" }).count()).toBe(0);
  await shot("09-viewer-host", viewer);
  // Forge a run-now from the viewer's own session, with its valid CSRF token.
  const status = await viewer.evaluate(async (hostId) => {
    const s = (await (await fetch("/api/v1/session")).json()) as { csrf_token: string };
    const res = await fetch(`/api/v1/hosts/${hostId}/jobs`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": s.csrf_token },
      body: JSON.stringify({ kind: "check" }),
    });
    return res.status;
  }, host.hostId);
  expect(status).toBe(403);
  await viewer.close();
});

test("the page carries a strict Content-Security-Policy", async () => {
  const res = await fetch(fleet.url);
  const csp = res.headers.get("content-security-policy") ?? "";
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain("unsafe-inline");
  expect(await res.text()).not.toMatch(/<script>(?!<\/script>)/);
});
