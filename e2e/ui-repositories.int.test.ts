import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { startTestServer, TestAgent, type TestServer } from "../server/src/testing/harness.ts";
import { launchChromium, login, overflows, shot } from "./ui-session.ts";

// Repository forms per backend and Test connection (issue 17) in headless Chromium against the
// real server on loopback. An S3 repository is made from its fields (the URL preview follows
// them, each credential labelled with the restic variable it is sent as), reopened and parsed
// back into the same fields, then tested on a host whose agent (TestAgent, a real WebSocket
// client of protocol 8) answers repo.test. Screenshots at 1366×900 and 390×844.

let t: TestServer;
let browser: Browser;
let page: Page;
let agent: TestAgent;
const SECRET = "s3-secret-key-ui-5e1a";

beforeAll(async () => {
  t = await startTestServer();
  const h = await t.enroll("web-01");
  agent = await TestAgent.connect(t.url, h.agent_token);
  await agent.hello(8, { hostname: "web-01", resticHost: "web-01" });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await login(page, t.url, "admin", "admin-password");
});

afterAll(async () => {
  agent?.close();
  await browser?.close();
  await t?.close();
});

const row = () => page.locator("tr[data-repository]").filter({ hasText: "offsite" });

test("an S3 repository from its fields: the URL preview, the variables, saved and parsed back", async () => {
  await page.getByRole("navigation").getByRole("link", { name: "Repositories" }).click();
  await page.getByRole("heading", { name: "Repositories" }).waitFor();
  await page.getByRole("button", { name: "New repository" }).click();
  const form = page.getByRole("form", { name: "New repository" });
  await form.getByLabel("Name", { exact: true }).fill("offsite");
  await form.getByLabel("Backend", { exact: true }).selectOption("s3");
  await form.getByLabel("Endpoint").fill("https://s3.example.com");
  await form.getByLabel("Bucket").fill("backups");
  await form.getByLabel(/^Prefix/).fill("{host}");
  await form.getByLabel("Region → AWS_DEFAULT_REGION (optional)").fill("eu-central-1");
  await form.getByLabel("Access key id → AWS_ACCESS_KEY_ID").fill("AKIAEXAMPLE");
  await form.getByLabel(/^Secret access key → AWS_SECRET_ACCESS_KEY/).fill(SECRET);
  expect(await form.locator("output.url-preview").textContent()).toBe("s3:https://s3.example.com/backups/{host}");
  await form.getByText("Per-host template").waitFor();
  await shot(page, "repoforms-01-s3-new");
  await form.getByRole("button", { name: "Create repository" }).click();
  await row().waitFor();
  expect(await row().locator("td.url").textContent()).toBe("s3:https://s3.example.com/backups/{host}");
  const saved = (await t.json("/api/v1/repositories")).body.items[0];
  expect(saved).toMatchObject({
    env: { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_DEFAULT_REGION: "eu-central-1" },
    secret_env: ["AWS_SECRET_ACCESS_KEY"],
  });
  expect(await page.content()).not.toContain(SECRET);

  await row().getByRole("button", { name: "Edit" }).click();
  const edit = page.getByRole("form", { name: "Edit repository offsite" });
  expect(await edit.getByLabel("Backend", { exact: true }).inputValue()).toBe("s3");
  expect(await edit.getByLabel("Endpoint").inputValue()).toBe("https://s3.example.com");
  expect(await edit.getByLabel("Bucket").inputValue()).toBe("backups");
  expect(await edit.getByLabel(/^Prefix/).inputValue()).toBe("{host}");
  expect(await edit.getByLabel("Region → AWS_DEFAULT_REGION (optional)").inputValue()).toBe("eu-central-1");
  const secret = edit.getByLabel(/^Secret access key → AWS_SECRET_ACCESS_KEY \(set; write-only\)/);
  expect(await secret.getAttribute("placeholder")).toBe("unchanged");
  expect(await secret.inputValue()).toBe("");
  await shot(page, "repoforms-02-s3-edit-1366");
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await overflows(page)).toBe(false);
  await shot(page, "repoforms-03-s3-edit-390");
  await page.setViewportSize({ width: 1366, height: 900 });

  // Another backend: B2's own fields; the S3 variables are cleared with the move.
  await edit.getByLabel("Backend", { exact: true }).selectOption("b2");
  await edit.getByLabel("Bucket").fill("fleet");
  await edit.getByLabel(/^Path/).fill("{host}");
  await edit.getByLabel("Account id (key id) → B2_ACCOUNT_ID").fill("0012ab");
  await edit.getByLabel(/^Account key → B2_ACCOUNT_KEY/).fill("K001-secret");
  expect(await edit.locator("output.url-preview").textContent()).toBe("b2:fleet:{host}");
  await edit.getByRole("button", { name: "Save repository" }).click();
  await edit.waitFor({ state: "detached" });
  const moved = (await t.json("/api/v1/repositories")).body.items[0];
  expect(moved).toMatchObject({
    url: "b2:fleet:{host}",
    env: { B2_ACCOUNT_ID: "0012ab" },
    secret_env: ["B2_ACCOUNT_KEY"],
  });
});

test("Test connection on a host that uses it shows the four results and restic's error", async () => {
  const repoId = (await t.json("/api/v1/repositories")).body.items[0].id;
  const p = await t.json("/api/v1/policies", {
    method: "POST",
    body: { name: "all", selector: {}, repository_id: repoId, schedules: [], enabled: true },
  });
  expect(p.status).toBe(201);
  await page.reload();
  await row().getByRole("button", { name: "Test connection" }).click();
  const card = page.getByRole("form", { name: "Test connection to offsite" });
  expect(await card.getByLabel("Host").locator("option:checked").textContent()).toBe("web-01");
  await card.getByRole("button", { name: "Run test" }).click();
  const ask = await agent.next("repo.test");
  expect(ask.payload).toMatchObject({ repo_url: "b2:fleet:web-01", repo_env: { B2_ACCOUNT_KEY: "K001-secret" } });
  agent.send("repo.tested", {
    request_id: ask.payload.request_id,
    reachable: true,
    initialised: true,
    password_ok: false,
    error: "Fatal: wrong password or no key found",
  });
  const results = card.locator(".test-results");
  await results.waitFor();
  expect(await results.locator("li").allTextContents()).toEqual([
    "✓ Reachable",
    "✓ Initialised",
    "✗ Password right: no key opens with this password",
    "– Locks: not listed (restic must open the repository first)",
  ]);
  expect(await results.locator("pre.test-error").textContent()).toBe("Fatal: wrong password or no key found");
  await shot(page, "repoforms-04-test-1366");
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await overflows(page)).toBe(false);
  await shot(page, "repoforms-05-test-390");
});
