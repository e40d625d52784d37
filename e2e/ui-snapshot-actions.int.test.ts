import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { enrollPair, type TestHost } from "./host.ts";
import { launchChromium, login, overflows } from "./ui-session.ts";

// Snapshot actions in the web UI, in headless Chromium against the real server, two compiled
// agents (web-a and web-b on one shared repository) and the real restic: compare two of web-a's
// snapshots (summary, marks, filter), edit one's tags (its id changes and the row follows), and
// forget one (the row disappears). Screenshots at 1366 and 390 px go to test-artifacts/ui/snapactions-*.png.

const SHOTS = join(import.meta.dir, "..", "test-artifacts", "ui");
let fleet: Fleet;
let work: string;
let data: string;
let a: TestHost;
let b: TestHost;
let browser: Browser;
let page: Page;
let older: { id: string; short_id: string };
let newer: { id: string; short_id: string };

/**
 * A full-page screenshot at both widths, and of the part shown (a card, a dialog) on the phone;
 * nothing may scroll sideways there.
 */
async function shots(name: string, part: string) {
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.screenshot({ path: join(SHOTS, `snapactions-${name}-1366.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(SHOTS, `snapactions-${name}-390.png`), fullPage: true });
  await page
    .locator(part)
    .first()
    .screenshot({ path: join(SHOTS, `snapactions-${name}-390-part.png`) });
  expect(await overflows(page)).toBe(false);
  await page.setViewportSize({ width: 1366, height: 900 });
}

const row = (shortId: string) => page.locator(`tr[data-snapshot="${shortId}"]`);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  work = tempDir("rf-ui-snapactions-");
  data = join(work, "srv");
  mkdirSync(join(data, "www"), { recursive: true });
  writeFileSync(join(data, "www", "index.html"), "<h1>v1</h1>\n");
  writeFileSync(join(data, "old.log"), "old\n");
  fleet = await startFleet();
  [a, b] = await enrollPair(fleet, work, join(work, "repo"));
  expect((await a.run({ kind: "init" })).status).toBe("succeeded");
  expect((await a.run({ kind: "backup", spec: { paths: [data] } }, "snapshots.updated")).status).toBe("succeeded");
  rmSync(join(data, "old.log"));
  writeFileSync(join(data, "www", "index.html"), "<h1>version two</h1>\n");
  mkdirSync(join(data, "www", "assets"));
  writeFileSync(join(data, "www", "assets", "site.css"), "body{}\n");
  expect((await a.run({ kind: "backup", spec: { paths: [data] } }, "snapshots.updated")).status).toBe("succeeded");
  expect((await b.run({ kind: "backup", spec: { paths: [data] } }, "snapshots.updated")).status).toBe("succeeded");
  const list = (
    await fleet.api<{ items: Array<{ id: string; short_id: string; time: string }> }>(`/hosts/${a.hostId}/snapshots`)
  ).body.items.sort((x, y) => x.time.localeCompare(y.time));
  [older, newer] = list as unknown as [typeof older, typeof newer];
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await login(page, fleet.url, "admin", "e2e-admin-password");
}, 300_000);

afterAll(async () => {
  await browser?.close();
  for (const h of [a, b]) {
    await h?.stop();
    h?.events?.close();
  }
  await fleet?.close();
  rmSync(work, { recursive: true, force: true });
});

test("compare two snapshots: the counts, the changed paths with their marks, and a filter", async () => {
  await page.goto(`${fleet.url}/#/hosts/${a.hostId}`);
  await row(older.short_id).waitFor();
  // Only web-a's own two snapshots are listed, though web-b's share the repository.
  expect(await page.locator("tr[data-snapshot]").count()).toBe(2);
  const compare = page.getByRole("button", { name: "Compare", exact: true });
  expect(await compare.isDisabled()).toBe(true);
  await row(newer.short_id).getByLabel("Compare").check();
  await row(older.short_id).getByLabel("Compare").check();
  await page.getByText(`Compare ${newer.short_id} with ${older.short_id}.`).waitFor();
  await compare.click();
  const diff = page.locator(".snapshot-diff");
  await diff.getByRole("heading", { name: `Changes from ${older.short_id} to ${newer.short_id}` }).waitFor();
  await diff.locator(".diff-list li").first().waitFor();
  const items = async () =>
    (await diff.locator(".diff-list li").allTextContents()).map((t) => t.replace(data, "").replace(/\s+/g, " "));
  expect(await items()).toEqual([
    "− removed /old.log",
    "+ added /www/assets/",
    "+ added /www/assets/site.css",
    "M modified /www/index.html",
  ]);
  expect(await diff.locator(".diff-summary").textContent()).toContain("+ 1 file, 1 folder");
  expect(await diff.textContent()).toContain("4 paths changed.");
  await shots("01-compare", ".snapshot-diff");
  await diff.getByLabel("Filter changed paths").fill("assets");
  expect(await diff.locator(".diff-list li").count()).toBe(2);
  await diff.getByText("2 of 4 listed paths match.").waitFor();
  await shots("02-compare-filtered", ".snapshot-diff");
  await diff.getByRole("button", { name: "Close" }).click();
  expect(await page.locator(".snapshot-diff").count()).toBe(0);
});

test("edit tags: the dialog keeps the system's tags, the job rewrites the snapshot, and the row follows its new id", async () => {
  await row(older.short_id).getByRole("button", { name: "Tags…" }).click();
  const dialog = page.getByRole("dialog", { name: `Tags of snapshot ${older.short_id}` });
  await dialog.getByLabel("Tags, separated by commas").fill("gold, fleet-x");
  await dialog.getByRole("button", { name: "Save tags" }).click();
  // A reserved tag is refused by the server, in the dialog.
  await dialog.getByText(/starts with "fleet-"/).waitFor();
  await dialog.getByLabel("Tags, separated by commas").fill("gold, weekly");
  await shots("03-tags-dialog", "dialog");
  await dialog.getByRole("button", { name: "Save tags" }).click();
  const note = page.locator(".snapshot-status .ok-note");
  await note.filter({ hasText: `${older.short_id} is now` }).waitFor();
  const now = (/is now ([0-9a-f]{8})/.exec((await note.textContent()) ?? "") ?? [])[1] as string;
  await row(now).filter({ hasText: "gold, weekly" }).waitFor();
  // Its size stays known under the new id.
  expect(await row(now).locator('td[data-label="Size"]').textContent()).toContain("2 files");
  expect(await row(older.short_id).count()).toBe(0);
  await shots("04-tags-saved", '[aria-labelledby="snap-h"]');
  older = { id: "", short_id: now };
});

test("forget a snapshot: a confirm dialog naming it, then the row disappears", async () => {
  await row(older.short_id).getByRole("button", { name: "Forget…" }).click();
  const dialog = page.getByRole("dialog", { name: `Forget snapshot ${older.short_id}?` });
  expect(await dialog.textContent()).toContain("This cannot be undone. The space is freed by the next prune.");
  await shots("05-forget-dialog", "dialog");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  expect(await page.getByRole("dialog").count()).toBe(0);
  await row(older.short_id).getByRole("button", { name: "Forget…" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Forget snapshot" }).click();
  await page
    .locator(".snapshot-status .ok-note")
    .filter({ hasText: `Snapshot ${older.short_id} was forgotten` })
    .waitFor();
  await row(older.short_id).waitFor({ state: "detached" });
  expect(await page.locator("tr[data-snapshot]").count()).toBe(1);
  await row(newer.short_id).waitFor();
  await shots("06-forgotten", '[aria-labelledby="snap-h"]');
  // web-b's snapshot is untouched.
  expect((await fleet.api<{ items: unknown[] }>(`/hosts/${b.hostId}/snapshots`)).body.items).toHaveLength(1);
});
