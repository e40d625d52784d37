import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { startTestServer, TestAgent, type TestServer } from "../server/src/testing/harness.ts";
import { launchChromium, login, overflows, SHOTS, shot, shotOf } from "./ui-session.ts";

// Stdin backups in the web UI (issue 18, item 5), in headless Chromium against the real server
// and a protocol 9 agent's socket: the schedule form's "a command's output" source makes a
// schedule whose row says the command and its file name, and the run-now form sends the
// command's words as argv. Screenshots at 1366 and 390 px go to test-artifacts/ui/stdin-*.png.
let t: TestServer;
let agent: TestAgent;
let browser: Browser;
let page: Page;
let hostId = "";

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  t = await startTestServer();
  const h = await t.enroll("db-01");
  hostId = h.host_id;
  await t.json(`/api/v1/hosts/${hostId}/config`, {
    method: "PUT",
    body: { repo_url: "/srv/repo", repo_password: "pw" },
  });
  agent = await TestAgent.connect(t.url, h.agent_token);
  await agent.hello(9, { hostname: "db-01", resticHost: "db-01" });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await login(page, t.url, "admin", "admin-password");
});

afterAll(async () => {
  agent?.close();
  await browser?.close();
  await t?.close();
});

async function bothWidths(name: string, part: string) {
  await page.setViewportSize({ width: 1366, height: 900 });
  await shot(page, `stdin-${name}-1366`);
  await page.setViewportSize({ width: 390, height: 844 });
  await shotOf(page.locator(part).first(), `stdin-${name}-390`);
  expect(await overflows(page)).toBe(false);
  await page.setViewportSize({ width: 1366, height: 900 });
}

test("a schedule of a command's output: the form, a refused open quote, the row in words", async () => {
  await page.goto(`${t.url}/#/hosts/${hostId}`);
  await page.getByRole("button", { name: "Add schedule" }).click();
  const form = page.locator("form.schedule-form");
  await form.getByLabel("a command's output (a database dump)").check();
  expect(await form.getByLabel("Paths (one per line, absolute)").isHidden()).toBe(true);
  await form.getByLabel("Command", { exact: true }).fill("pg_dump --format=plain 'my db");
  await form.getByLabel("File name in the snapshot").fill("mydb.sql");
  await form.getByRole("button", { name: "Create schedule" }).click();
  const err = form.locator('[data-field="stdin_command"] .field-error');
  await err.filter({ hasText: "quote is not closed" }).waitFor();
  await bothWidths("01-schedule-form", "form.schedule-form");

  await form.getByLabel("Command", { exact: true }).fill("pg_dump --format=plain 'my db'");
  await form.getByRole("button", { name: "Create schedule" }).click();
  const row = page.locator("tr[data-schedule]").filter({ hasText: "output of" });
  await row.waitFor();
  expect(await row.textContent()).toContain("output of pg_dump --format=plain 'my db' as mydb.sql");
  const stored = await t.json(`/api/v1/hosts/${hostId}/schedules`);
  expect(stored.body.items[0]).toMatchObject({
    stdin_command: ["pg_dump", "--format=plain", "my db"],
    stdin_filename: "mydb.sql",
    paths: [],
  });
  await bothWidths("02-schedule-row", "tr[data-schedule]");
});

test("run now: the command from the schedule, sent as argv; the server's refusal lands by its field", async () => {
  await page.reload();
  const form = page.locator("#run-now");
  await form.waitFor();
  await form.getByLabel("Job").selectOption("backup");
  // Prefilled from the host's backup schedule.
  expect(await form.getByLabel("a command's output (a database dump)").isChecked()).toBe(true);
  expect(await form.getByLabel("Command", { exact: true }).inputValue()).toBe("pg_dump --format=plain 'my db'");
  await form.getByLabel("File name in the snapshot").fill("../x.sql");
  await form.getByRole("button", { name: "Run now" }).click();
  await form.locator('[data-field="stdin_filename"] .field-error').filter({ hasText: "plain file name" }).waitFor();
  await bothWidths("03-run-now-refused", "#run-now");
  await form.getByLabel("Command", { exact: true }).fill("sqlite3 /var/lib/app.db .dump");
  await form.getByLabel("File name in the snapshot").fill("app.sql");
  await form.getByRole("button", { name: "Run now" }).click();
  const cmd = await agent.next("command.run");
  expect(cmd.payload).toMatchObject({
    kind: "backup",
    spec: { stdin_command: ["sqlite3", "/var/lib/app.db", ".dump"], stdin_filename: "app.sql" },
  });
});
