import { afterAll, beforeAll, expect, test } from "bun:test";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { enrollPair, TestHost } from "./host.ts";
import { launchChromium, login, overflows, shot, shotOf } from "./ui-session.ts";

// Restore confidence in the web UI (DESIGN §8.5), in headless Chromium against the real server,
// two compiled agents (web-a and web-b, on one shared repository) and the real restic: web-a's
// snapshot browsed into a nested folder, a file downloaded, a selection from two folders restored
// onto web-b and found on disk, a drill run from the run form and its report and result shown,
// a drill schedule made, and the snapshot browsed through web-b while web-a is offline.
// Screenshots go to test-artifacts/ui/restore-*.png.
let fleet: Fleet;
let work: string;
let data: string;
let a: TestHost;
let b: TestHost;
/** Enrolled on a repository of its own, never started. */
let c: TestHost;
let browser: Browser;
let page: Page;
const WEIRD = "weird[1].txt";
const staging = () => join(work, "b-staging");

const row = (path: string) => page.locator(`.file-browser tr[data-path="${path}"]`);
/** Opens the folders from the snapshot's root down to `path`, one click per folder. */
async function openFolders(path: string) {
  const parts = path.split("/").filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join("/")}`;
    await row(p)
      .getByRole("button", { name: parts[i - 1] })
      .click();
    await page
      .locator(".file-crumbs [aria-current]")
      .filter({ hasText: parts[i - 1] })
      .waitFor();
  }
}

beforeAll(async () => {
  work = tempDir("rf-ui-restore-");
  data = join(work, "srv");
  mkdirSync(join(data, "docs", "nested"), { recursive: true });
  writeFileSync(join(data, "docs", "nested", WEIRD), "brackets survive the round trip\n");
  writeFileSync(join(data, "docs", "readme.txt"), "read me\n");
  for (let i = 0; i < 8; i++) writeFileSync(join(data, `file-${i}.txt`), `file ${i}\n`.repeat(100 * (i + 1)));
  fleet = await startFleet();
  const template = join(work, "template");
  [a, b] = await enrollPair(fleet, work, template, { start: false });
  await a.start();
  // web-b's own policy lets restores write only into its staging folder.
  const policy = join(work, "b-policy.json");
  writeFileSync(
    policy,
    JSON.stringify({ remote_hooks: false, restore_targets: [staging()], backup_paths: null, repositories: null }),
  );
  await b.start({ RF_POLICY: policy });
  expect((await a.run({ kind: "init" })).status).toBe("succeeded");
  // Both hosts on one repository (a copy of the initialised one), as a replacement host would be.
  const repo = join(work, "repo");
  cpSync(template, repo, { recursive: true });
  for (const h of [a, b]) await h.useRepo(repo);
  expect((await a.run({ kind: "backup", spec: { paths: [data] } }, "snapshots.updated")).status).toBe("succeeded");
  c = new TestHost(fleet, join(work, "c"));
  await c.enroll({ hostname: "other-repo", repoUrl: join(work, "c-repo") });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  await login(page, fleet.url, "admin", "e2e-admin-password");
});

afterAll(async () => {
  await browser?.close();
  for (const h of [a, b]) {
    await h?.stop();
    h?.events?.close();
  }
  await fleet?.close();
  rmSync(work, { recursive: true, force: true });
});

test("browse the snapshot into a nested folder and back up with the breadcrumbs", async () => {
  await page.goto(`${fleet.url}/#/hosts/${a.hostId}`);
  await page.locator("tr[data-snapshot]").first().getByRole("button", { name: "Browse files" }).click();
  await page.getByRole("heading", { name: /Files in snapshot/ }).waitFor();
  await openFolders(join(data, "docs", "nested"));
  const weird = row(join(data, "docs", "nested", WEIRD));
  await weird.waitFor();
  expect(await weird.locator('td[data-label="Type"]').textContent()).toBe("file");
  expect(await weird.locator('td[data-label="Size"]').textContent()).toBe("32 B");
  await shot(page, "restore-01-browse-nested");
  await page.locator(".file-crumbs").getByRole("button", { name: "docs" }).click();
  await row(join(data, "docs", "readme.txt")).waitFor();
});

test("download a file from the snapshot, and a folder as .tar", async () => {
  const link = row(join(data, "docs", "readme.txt")).getByRole("link", { name: "Download readme.txt" });
  const [file] = await Promise.all([page.waitForEvent("download"), link.click()]);
  expect(file.suggestedFilename()).toBe("readme.txt");
  expect(readFileSync(await file.path(), "utf8")).toBe("read me\n");
  const folder = row(join(data, "docs", "nested")).getByRole("link", { name: "Download nested as .tar" });
  const [tar] = await Promise.all([page.waitForEvent("download"), folder.click()]);
  expect(tar.suggestedFilename()).toBe("nested.tar");
  expect(readFileSync(await tar.path()).includes(Buffer.from("brackets survive the round trip"))).toBe(true);
});

test("restore a selection from two folders onto another host, verified, and find it on disk", async () => {
  await row(join(data, "docs", "readme.txt"))
    .getByRole("checkbox")
    .check();
  await row(join(data, "docs", "nested"))
    .getByRole("button", { name: "nested" })
    .click();
  await row(join(data, "docs", "nested", WEIRD))
    .getByRole("checkbox")
    .check();
  await page.locator(".file-selection").filter({ hasText: "2 selected" }).waitFor();
  await shot(page, "restore-02-selection");
  await shotOf(page.locator(".file-browser"), "restore-02-browser-card");
  await page.getByRole("button", { name: "Restore selection…" }).click();
  const include = (await page.getByLabel("Include").inputValue()).split("\n");
  expect(include.sort()).toEqual([join(data, "docs", "nested", WEIRD), join(data, "docs", "readme.txt")].sort());
  // Onto web-b, the folder is the first its policy allows.
  await page.getByLabel("Restore onto").selectOption(b.hostId);
  const target = page.getByLabel("Target folder (absolute)");
  expect(await target.inputValue()).toBe(staging());
  await page.getByText(`web-b's policy allows restores only into ${staging()}.`).waitFor();
  // Before Run, the form says where the files will land: the target, then each original path.
  const landing = page.locator("#run-now .landing");
  for (const p of include) expect(await landing.textContent()).toContain(join(staging(), p));
  // A host on another repository cannot read this snapshot: the server says so, by the field.
  await page.getByLabel("Restore onto").selectOption(c.hostId);
  await page.getByRole("button", { name: "Run now" }).click();
  await page.locator('[data-field="source_host_id"] .field-error').filter({ hasText: "another repository" }).waitFor();
  await shotOf(page.locator("#run-now"), "restore-03-refused");
  await page.getByLabel("Restore onto").selectOption(b.hostId);
  expect(await page.locator('[data-field="source_host_id"] .field-error').textContent()).toBe("");
  expect(await page.getByLabel(/^verify restored files/).isChecked()).toBe(true);
  await shot(page, "restore-03-restore-form");
  await shotOf(page.locator("#run-now"), "restore-03-restore-form-card");
  await page.getByRole("button", { name: "Run now" }).click();
  const heading = page.getByRole("heading", { name: /restore job/ });
  await heading.locator(".badge-succeeded").waitFor();
  // The job is web-b's: its page links back to web-b.
  expect(await page.locator(".crumbs a").nth(1).textContent()).toBe("web-b");
  await shot(page, "restore-04-restored-on-b");
  expect(readFileSync(join(staging(), data, "docs", "nested", WEIRD), "utf8")).toBe(
    "brackets survive the round trip\n",
  );
  expect(readFileSync(join(staging(), data, "docs", "readme.txt"), "utf8")).toBe("read me\n");
  expect(() => readFileSync(join(staging(), data, "file-0.txt"))).toThrow();
});

test("the restore defaults to the packages' staging folder, never /tmp, and says where files land", async () => {
  await page.goto(`${fleet.url}/#/hosts/${a.hostId}`);
  await page.getByLabel("Job", { exact: true }).selectOption("restore");
  // web-a's policy limits nothing: the folder is the one the .deb's unit keeps writable.
  const folder = "/var/lib/restic-fleet-agent/restore";
  const target = page.getByLabel("Target folder (absolute)");
  expect(await target.inputValue()).toBe(folder);
  expect(await target.getAttribute("placeholder")).toBe(folder);
  const landing = page.locator("#run-now .landing");
  // Nothing included: the snapshot's own paths (latest: web-a's one backup, of `data`).
  expect(await landing.textContent()).toBe(
    `Files land at ${folder}${data} (the target folder, then each original absolute path).`,
  );
  await page.getByLabel("Include").fill("/srv/www/index.html");
  await landing.filter({ hasText: `${folder}/srv/www/index.html` }).waitFor();
  for (const [w, hgt] of [
    [390, 844],
    [1366, 900],
  ] as const) {
    await page.setViewportSize({ width: w, height: hgt });
    expect(await overflows(page)).toBe(false);
    await shotOf(page.locator("#run-now"), `restore-13-landing-${w}`);
  }
  await target.fill("/srv/restore");
  await landing.filter({ hasText: "Files land at /srv/restore/srv/www/index.html" }).waitFor();
  await page.setViewportSize({ width: 1280, height: 900 });
});

test("a drill from the run form passes, with its report, and the host shows it", async () => {
  await page.goto(`${fleet.url}/#/hosts/${a.hostId}`);
  await page.locator('[data-fact="drill"]').filter({ hasText: "never" }).waitFor();
  await page.getByLabel("Job", { exact: true }).selectOption("drill");
  await page.getByLabel("Sample files").fill("5");
  await page.getByLabel("At most").fill("10M");
  await page.getByRole("button", { name: "Run now" }).click();
  await page
    .getByRole("heading", { name: /drill job/ })
    .locator(".badge-succeeded")
    .waitFor();
  const report = page.locator(".drill-report");
  await report.locator(".badge-passed").waitFor();
  expect(await report.locator("tr[data-file]").count()).toBe(5);
  expect(await report.textContent()).toContain("5 of 5 sampled files");
  await shot(page, "restore-05-drill-report");
  await shotOf(report, "restore-05-drill-report-card");
  await page.locator(".crumbs a").nth(1).click();
  await page.locator('[data-fact="drill"] .badge-passed').waitFor();
  await shot(page, "restore-06-host-drill-passed");
  await page.getByRole("navigation").getByRole("link", { name: "Fleet", exact: true }).click();
  await page.locator(`tr[data-host="${a.hostId}"] td.drill .badge-passed`).waitFor();
  expect(await page.locator(`tr[data-host="${b.hostId}"] td.drill`).textContent()).toBe("never");
  await shot(page, "restore-07-dashboard-drill");
  await page.getByLabel("Show hosts with status").selectOption("drill_failed");
  await page.getByText("No host matches this filter.").waitFor();
  expect(await page.locator("tr[data-host]").count()).toBe(0);
});

test("a drill schedule and a rolling check schedule from the host's schedule form", async () => {
  await page.goto(`${fleet.url}/#/hosts/${a.hostId}`);
  await page.getByRole("button", { name: "Add schedule" }).click();
  const form = page.locator("form.schedule-form");
  await form.getByLabel("Kind").selectOption("drill");
  await form.getByLabel("Cron expression").fill("0 4 * * 0");
  await form.getByLabel("Sample files").fill("3");
  await form.getByLabel("At most").fill("10M");
  await form.getByRole("button", { name: "Create schedule" }).click();
  await page.locator("tr[data-schedule]").filter({ hasText: "3 files, at most 10M, of latest" }).waitFor();

  await page.getByRole("button", { name: "Add schedule" }).click();
  await form.getByLabel("Kind").selectOption("check");
  await form.getByLabel("Cron expression").fill("0 5 * * *");
  await form.getByLabel("Read data subset").fill("k/7");
  await form.getByRole("button", { name: "Create schedule" }).click();
  await page.locator("tr[data-schedule]").filter({ hasText: "reads k/7" }).waitFor();
  // The server's read_cycle: a new rolling check starts at part 1 and has never read it all.
  await page.locator(".read-cycle").filter({ hasText: "next: part 1 of 7" }).waitFor();
  await page.locator('[data-fact="full-read"]').filter({ hasText: "part 1 of 7 next" }).waitFor();
  await shot(page, "restore-08-schedules");
});

test("the repositories page says when each repository was last checked", async () => {
  const made = await fleet.api("/repositories", "POST", { name: "nas", url: join(work, "nas"), password: "pw" });
  expect(made.status).toBe(201);
  await page.getByRole("navigation").getByRole("link", { name: "Repositories" }).click();
  const cell = page.locator("tr[data-repository] .last-check");
  await cell.waitFor();
  expect(await cell.textContent()).toBe("last check never");
  await shot(page, "restore-12-repositories");
});

test("a viewer browses the files but gets no download, ticks or restore", async () => {
  const made = await fleet.api("/users", "POST", { username: "watcher", password: "viewer-password", role: "viewer" });
  expect(made.status).toBe(201);
  const viewer = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await login(viewer, fleet.url, "watcher", "viewer-password");
  await viewer.goto(`${fleet.url}/#/hosts/${a.hostId}`);
  await viewer.locator("tr[data-snapshot]").first().getByRole("button", { name: "Browse files" }).click();
  await viewer.locator(".file-browser tr[data-path]").first().waitFor();
  expect(await viewer.locator(".file-browser").getByRole("checkbox").count()).toBe(0);
  expect(
    await viewer
      .locator(".file-browser")
      .getByRole("link", { name: /^Download/ })
      .count(),
  ).toBe(0);
  expect(await viewer.getByRole("button", { name: /^Restore/ }).count()).toBe(0);
  await viewer.close();
});

test("with web-a offline, its snapshot is browsed through web-b", async () => {
  const events = a.events ?? (await a.watch());
  const from = events.seen.length;
  await a.stop();
  await events.until((e) => e.type === "host.updated" && e.host_id === a.hostId && e.online === false, from);
  await page.goto(`${fleet.url}/#/`);
  await page.goto(`${fleet.url}/#/hosts/${a.hostId}`);
  await page.locator("tr[data-snapshot]").first().getByRole("button", { name: "Browse files" }).click();
  await page.locator(".file-browser .error").filter({ hasText: "offline" }).waitFor();
  await page.getByLabel("Browse through another online host").selectOption(b.hostId);
  await shot(page, "restore-09-offline");
  await page.getByRole("button", { name: "Browse through it" }).click();
  await page.locator(".via-note").filter({ hasText: "web-b" }).waitFor();
  await openFolders(join(data, "docs", "nested"));
  await row(join(data, "docs", "nested", WEIRD)).waitFor();
  await shot(page, "restore-10-browse-via-b");
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await overflows(page)).toBe(false);
  await shot(page, "restore-11-browse-390");
  await shotOf(page.locator(".file-browser"), "restore-11-browser-card-390");
  await page.setViewportSize({ width: 1280, height: 900 });
});
