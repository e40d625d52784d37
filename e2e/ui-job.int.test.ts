import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { RESTIC, TestHost } from "./host.ts";
import { launchChromium, login, overflows, shot } from "./ui-session.ts";

// The job page (issue 17) in headless Chromium, against the real server, the compiled agent and the
// real restic: a job that starts while its page loads shows running at once, its times tick (the
// page's clock is playwright's), a finished backup shows its summary's figures in words (no stale
// progress frame, "1 file"), a check shows what it is doing while it runs, and restic's summary
// line in the log reads as words. Screenshots go to test-artifacts/ui/job-*.png.
let fleet: Fleet;
let host: TestHost;
let work: string;
let browser: Browser;
let page: Page;
/** The backup's pre-hook waits for this file; the check waits for its own (resticHeld). */
let hookGate: string;
let checkGate: string;

const heading = () => page.getByRole("heading", { level: 1 });
const figures = () => page.locator(".progress-text .figures");
const elapsed = () => page.locator(".progress-text .elapsed");
const TOOK = /^took (\d+s|under 1s)$/;
const open = (jobId: string) => page.evaluate((h) => (location.hash = h), `#/jobs/${jobId}`);

/** Desktop and phone screenshots of the page as it is now; the phone one must not scroll sideways. */
async function shots(name: string) {
  await page.setViewportSize({ width: 1366, height: 900 });
  await shot(page, `job-${name}-1366`);
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, `job-${name}-390`);
  expect(await overflows(page)).toBe(false);
  await page.setViewportSize({ width: 1366, height: 900 });
}

/**
 * The real restic, except that `check` pauses after its first output line until `gate` exists,
 * so the test sees a check while it runs (restic 0.14's check has no progress of its own).
 */
function resticHeld(dir: string, gate: string): string {
  const path = join(dir, "restic-held.sh");
  const restic = Bun.which(RESTIC) ?? RESTIC;
  writeFileSync(
    path,
    `#!/bin/bash
for a in "$@"; do
  if [ "$a" = check ]; then
    set -o pipefail
    "${restic}" "$@" | { IFS= read -r l; printf '%s\\n' "$l"; while [ ! -e "${gate}" ]; do sleep 0.05; done; cat; }
    exit $?
  fi
done
exec "${restic}" "$@"
`,
  );
  chmodSync(path, 0o755);
  return path;
}

beforeAll(async () => {
  work = tempDir("rf-ui-job-");
  hookGate = join(work, "hook-go");
  checkGate = join(work, "check-go");
  mkdirSync(join(work, "data", "sub"), { recursive: true });
  writeFileSync(join(work, "data", "big.bin"), Buffer.alloc(256 * 1024, 7));
  writeFileSync(join(work, "data", "a.txt"), "a\n");
  writeFileSync(join(work, "data", "sub", "b.txt"), "b\n");
  mkdirSync(join(work, "single"));
  writeFileSync(join(work, "single", "only.txt"), "x".repeat(64));
  fleet = await startFleet();
  host = new TestHost(fleet, work, undefined, resticHeld(work, checkGate));
  await host.watch();
  await host.enroll();
  await host.start();
  expect((await host.run({ kind: "init" })).status).toBe("succeeded");
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await login(page, fleet.url, "admin", "e2e-admin-password");
});

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  host?.events?.close();
  await fleet?.close();
  rmSync(work, { recursive: true, force: true });
});

test("a queued job that starts while its page loads shows running at once; its times tick", async () => {
  // A page of its own, whose clock flows on its own until the test moves it (fastForward).
  const plain = page;
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  try {
    await page.clock.install();
    await login(page, fleet.url, "admin", "e2e-admin-password");
    await queuedThenRunning();
  } finally {
    await page.close();
    page = plain;
  }
});

async function queuedThenRunning() {
  await host.stop();
  const job = await host.runNow({
    kind: "backup",
    spec: { paths: [join(work, "data")], pre_hook: `while [ ! -e '${hookGate}' ]; do sleep 0.05; done` },
  });
  expect(job.status).toBe("queued");
  // The page's first load stops at its log request until the job has started, so the job's
  // job.updated lands in the middle of the load, as it does when run now opens this page.
  let logsAsked!: () => void;
  const asked = new Promise<void>((r) => {
    logsAsked = r;
  });
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  await page.route(
    (url) => url.pathname === `/api/v1/jobs/${job.id}/logs`,
    async (route) => {
      logsAsked();
      await released;
      await route.continue();
    },
    { times: 1 },
  );
  await open(job.id);
  await asked;
  const events = host.events ?? (await host.watch());
  const from = events.seen.length;
  await host.start();
  await events.until((e) => e.type === "job.updated" && e.job_id === job.id && e.status === "running", from);
  release();
  // The pre-hook holds the job, so no later event can bring "running": only the one of the load.
  await heading().locator(".badge-running").waitFor({ timeout: 10_000 });
  expect(await figures().textContent()).toBe("Backing up…");
  await page.locator(".progress.indeterminate").waitFor();
  await page.locator(".progress-phase").filter({ hasText: "pre-hook" }).waitFor();
  await elapsed()
    .filter({ hasText: /^running for \d+s$/ })
    .waitFor();
  await page
    .locator(".facts")
    .filter({ hasText: /started \d+s ago/ })
    .waitFor();
  await shots("backup-running");

  // A minute and 12 seconds later on the page's clock, without any event.
  await page.clock.fastForward(72_000);
  await elapsed()
    .filter({ hasText: /^running for 1m \d+s$/ })
    .waitFor();
  await page.locator(".facts").filter({ hasText: "started 1m ago" }).waitFor();

  writeFileSync(hookGate, "");
  await heading().locator(".badge-succeeded").waitFor();
  const done = await host.job(job.id);
  const s = done.stats as Record<string, number>;
  expect(s.total_files_processed).toBe(3);
  // The figures are the summary's, never the last progress frame's.
  await figures().filter({ hasText: "3 files · 256 KiB" }).waitFor();
  expect(await elapsed().textContent()).toMatch(/^took \d+s$/);
  const result = page.locator(".result-figures > .summary");
  const rows = Object.fromEntries(
    await result
      .locator("dt")
      .evaluateAll((dts) => dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])),
  );
  expect(rows).toMatchObject({
    Files: "3 new, 0 changed, 0 unmodified",
    Folders: `${s.dirs_new} new, 0 changed, 0 unmodified`,
    "Total processed": "256 KiB in 3 files",
  });
  // 0.18 adds what it stored: "258 KiB (stored 257 KiB)".
  expect(rows["Data added"]).toMatch(/^\d+ KiB/);
  expect(rows.Duration).toMatch(/^(\d+s|under 1s)$/);
  expect(rows.Snapshot).toBe(String(done.stats?.snapshot_id).slice(0, 8));
  expect(await result.locator("a.snapshot-link").getAttribute("href")).toBe(`#/hosts/${host.hostId}`);
  const text = (await page.locator(".view").textContent()) ?? "";
  for (const raw of ["dirs new", "tree blobs", "data blobs", "files new", "total bytes processed", "100%"]) {
    expect(text).not.toContain(raw);
  }
  // restic's summary line in the log: its figures in words, not a JSON blob.
  const line = page.locator(".log .log-summary");
  await line.waitFor();
  expect(await line.textContent()).toContain("restic summary: Snapshot:");
  expect(await line.textContent()).toContain("Files: 3 new, 0 changed, 0 unmodified");
  expect(await page.locator(".log").textContent()).not.toContain('"message_type"');
  await shots("backup-succeeded");
}

test("a finished backup of one file says 1 file, never 1 files", async () => {
  const job = await host.run({ kind: "backup", spec: { paths: [join(work, "single")] } });
  expect(job.status).toBe("succeeded");
  await open(job.id);
  await heading().locator(".badge-succeeded").waitFor();
  expect(await page.locator(".view").textContent()).not.toMatch(/\b1 files\b/);
  await figures().filter({ hasText: "1 file · 64 B" }).waitFor();
  await page.locator(".summary dd").filter({ hasText: "64 B in 1 file" }).waitFor();
});

test("a running check shows what it is doing and for how long, then its end", async () => {
  const job = await host.runNow({ kind: "check" });
  await open(job.id);
  await heading().locator(".badge-running").waitFor();
  expect(await figures().textContent()).toBe("Checking the repository…");
  await page.locator(".progress.indeterminate").waitFor();
  await elapsed()
    .filter({ hasText: /^running for / })
    .waitFor();
  // The line restic printed before the wrapper held it (0.14's check prints text; 0.18's only its
  // JSON summary, at the end): the last text line of the log so far.
  const lastOut = page.locator(".log li:not(:has(.log-summary, .log-json))").last();
  await lastOut.waitFor();
  const said = ((await lastOut.textContent()) ?? "").replace(/^(stdout|stderr|event) /, "");
  expect(said.length).toBeGreaterThan(0);
  await page.locator(".progress-phase").filter({ hasText: said }).waitFor();
  await shots("check-running");
  writeFileSync(checkGate, "");
  await heading().locator(".badge-succeeded").waitFor();
  expect(await page.locator(".progress.indeterminate").count()).toBe(0);
  expect(await page.locator(".progress-phase").isHidden()).toBe(true);
  expect(await elapsed().textContent()).toMatch(TOOK);
  expect(await figures().textContent()).toBe("No errors found");
  // restic's own words: 0.14's text, or 0.18's JSON summary read as figures.
  await page
    .locator(".log li")
    .filter({ hasText: /no errors were found|Errors found: none/ })
    .waitFor();
  await shots("check-succeeded");
});

test("a restore's page: its end and its log", async () => {
  const target = join(work, "restored");
  const job = await host.run({ kind: "restore", spec: { snapshot_id: "latest", target } });
  expect(job.status).toBe("succeeded");
  await open(job.id);
  await heading().locator(".badge-succeeded").waitFor();
  expect(await elapsed().textContent()).toMatch(TOOK);
  await page.locator(".log li").first().waitFor();
  await shots("restore-succeeded");
});
