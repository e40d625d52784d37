import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { startTestServer, type TestServer } from "../server/src/testing/harness.ts";

// Labels in the web UI, in headless Chromium (Debian's) against the real server on loopback: a
// labelled enrollment token made on Add hosts, listed and revoked there; a host enrolled with it
// shows its labels; an admin relabels a host on its page; the dashboard filters by label. Each
// step saves a screenshot under test-artifacts/ui/.
const SHOTS = join(import.meta.dir, "..", "test-artifacts", "ui");
const CHROMIUM = process.env.RF_CHROMIUM ?? "/usr/bin/chromium";
let t: TestServer;
let browser: Browser;
let page: Page;
let tokenId = "";
let token = "";
let dbHost = "";
let webHost = "";

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const enrollWith = (secret: string, hostname: string) =>
  t.json("/api/v1/agent/enroll", { method: "POST", body: { token: secret, hostname }, token: null });

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  t = await startTestServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // The revoke button asks first.
  page.on("dialog", (d) => void d.accept());
  await page.goto(t.url);
  await page.getByLabel("User name").fill("admin");
  await page.getByLabel("Password").fill("admin-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Fleet", exact: true }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

test("Add hosts: a bad label is refused by name; a labelled token is made and listed, never its secret", async () => {
  await page.getByRole("navigation").getByRole("link", { name: "Add hosts" }).click();
  const labels = page.getByLabel(/^Labels/);
  await labels.fill("Env=prod");
  await page.getByRole("button", { name: "Create enrollment token" }).click();
  await page.locator('[data-field="labels"] .field-error').filter({ hasText: "labels.Env" }).waitFor();
  await shot("labels-01-bad-label");
  expect((await t.json("/api/v1/enrollment-tokens")).body.items).toEqual([]);

  await page.getByLabel("How many hosts may enroll with it").fill("2");
  await labels.fill("env=prod, role=db");
  await page.getByRole("button", { name: "Create enrollment token" }).click();
  token = (await page.locator("pre.token").textContent())?.trim() ?? "";
  expect(token).toStartWith("rfe_");
  const row = page.locator("tr[data-token]").first();
  await row.filter({ hasText: "env=prod" }).waitFor();
  tokenId = (await row.getAttribute("data-token")) ?? "";
  expect(await row.locator(".label-tag").allTextContents()).toEqual(["env=prod", "role=db"]);
  expect(await row.textContent()).toContain("active");
  expect(await row.textContent()).toContain("by admin");
  expect(await page.locator("table.tokens").textContent()).not.toContain(token);
  await shot("labels-02-token-listed");
});

test("a host enrolled with it has the labels; then the token is revoked in the list and enrolls no more", async () => {
  const db = await enrollWith(token, "db-01");
  expect(db.status).toBe(201);
  dbHost = db.body.host_id;
  webHost = (await t.enroll("web-01")).host_id;
  expect((await t.json(`/api/v1/hosts/${dbHost}`)).body.labels).toEqual({ env: "prod", role: "db" });

  await page.reload();
  const row = page.locator(`tr[data-token="${tokenId}"]`);
  await row.filter({ hasText: "1" }).waitFor();
  await row.getByRole("button", { name: "Revoke" }).click();
  await page.locator(`tr[data-token="${tokenId}"] .badge-token-revoked`).waitFor();
  expect(await page.locator(`tr[data-token="${tokenId}"]`).getByRole("button", { name: "Revoke" }).count()).toBe(0);
  await shot("labels-03-token-revoked");
  expect((await enrollWith(token, "db-02")).status).toBe(401);
});

test("the dashboard shows labels as tags and filters by them", async () => {
  await page.getByRole("navigation").getByRole("link", { name: "Fleet", exact: true }).click();
  await page.locator(`tr[data-host="${dbHost}"] .label-tag`).first().waitFor();
  expect(await page.locator(`tr[data-host="${dbHost}"] .label-tag`).allTextContents()).toEqual(["env=prod", "role=db"]);
  expect(await page.locator(`tr[data-host="${webHost}"] .label-tag`).count()).toBe(0);
  const filter = page.getByLabel("Filter by labels");
  await filter.fill("role=db");
  await filter.press("Enter");
  await page.locator(`tr[data-host="${webHost}"]`).waitFor({ state: "detached" });
  expect(await page.locator("tr[data-host]").count()).toBe(1);
  await shot("labels-04-dashboard-filtered");
  await filter.fill("role");
  await filter.press("Enter");
  await page.locator(".field-error").filter({ hasText: "not key=value" }).waitFor();
  await shot("labels-05-dashboard-bad-filter");
  await filter.fill("");
  await filter.press("Enter");
  await page.locator(`tr[data-host="${webHost}"]`).waitFor();
});

test("an admin sets a host's labels on its page; the dashboard filter finds it by them", async () => {
  await page.locator(`tr[data-host="${webHost}"] th a`).click();
  await page.getByRole("heading", { name: "Labels" }).waitFor();
  await page.getByText("No labels.").waitFor();
  const input = page.getByRole("textbox", { name: /^Labels/ });
  await input.fill("env=Staging.1, role=");
  await page.getByRole("button", { name: "Save labels" }).click();
  await page.getByText("Labels saved.").waitFor();
  expect(await page.locator("section[aria-labelledby=labels-h] .label-tag").allTextContents()).toEqual([
    "env=Staging.1",
    "role=",
  ]);
  await input.fill("env=a/b");
  await page.getByRole("button", { name: "Save labels" }).click();
  await page.locator('[data-field="labels"] .field-error').filter({ hasText: "labels.env" }).waitFor();
  await shot("labels-06-host-page");
  expect((await t.json(`/api/v1/hosts/${webHost}`)).body.labels).toEqual({ env: "Staging.1", role: "" });

  await page.getByRole("navigation").getByRole("link", { name: "Fleet", exact: true }).click();
  const filter = page.getByLabel("Filter by labels");
  await filter.fill("env=Staging.1");
  await filter.press("Enter");
  await page.locator(`tr[data-host="${dbHost}"]`).waitFor({ state: "detached" });
  await page.locator(`tr[data-host="${webHost}"]`).waitFor();
  await shot("labels-07-dashboard-relabelled");
});
