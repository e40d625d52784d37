import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { ManualClock } from "../server/src/clock.ts";
import type { StoredSnapshot } from "../server/src/domain/types.ts";
import { startTestServer, type TestServer } from "../server/src/testing/harness.ts";
import { launchChromium, login, shot } from "./ui-session.ts";

// Paged alerts and snapshots in the web UI (issue 20 item 7), in headless Chromium against the
// real server on loopback: #/alerts shows 100 alerts, "Load more" the next pages until none is
// left, and its condition menu asks the server (a page of one condition, not one page filtered);
// a host page shows 50 of 130 snapshots, "Load more" the rest, and "Restore…" on one loaded later
// picks it in the run form. The rows are written through the server's store (their own tests make
// them from real events). Screenshots under test-artifacts/ui/paging-*.png.
const MIN = 60_000;
const STEP_TIMEOUT_MS = 60_000;
const clock = new ManualClock(new Date(Date.now() - 300 * MIN));
let t: TestServer;
let browser: Browser;
let page: Page;
let webId = "";
const snapshots: Array<Omit<StoredSnapshot, "host_id">> = [];

/** Waits until `selector` matches exactly `count` rows (the table is the signal). */
const rowsUntil = (selector: string, count: number) =>
  page.waitForFunction(({ selector, count }) => document.querySelectorAll(selector).length === count, {
    selector,
    count,
  });
const attrs = (selector: string, name: string) =>
  page.locator(selector).evaluateAll((rows, n) => rows.map((r) => r.getAttribute(n) ?? ""), name);

beforeAll(async () => {
  t = await startTestServer({ clock });
  webId = (await t.enroll("web-01")).host_id;
  const dbId = (await t.enroll("db-01")).host_id;
  const s = t.server.store;
  s.tx(() => {
    // 230 resolved alerts a minute apart (half host_offline), and one firing on each host.
    for (let i = 0; i < 232; i++) {
      const at = new Date(clock.now().getTime() + i * MIN).toISOString();
      const firing = i >= 230;
      s.insertAlert({
        id: `alert_${String(i).padStart(4, "0")}`,
        host_id: i % 2 ? webId : dbId,
        condition: firing ? "backup_failed" : i % 2 ? "host_offline" : "backup_stale",
        state: firing ? "firing" : "resolved",
        started_at: at,
        resolved_at: firing ? null : at,
        summary: `alert number ${i}`,
        notified_at: at,
        resolve_notified_at: firing ? null : at,
      });
    }
    for (let i = 0; i < 130; i++) {
      const id = `${String(i).padStart(8, "0")}${"c".repeat(56)}`;
      snapshots.push({
        id,
        short_id: id.slice(0, 8),
        time: new Date(clock.now().getTime() + i * MIN).toISOString(),
        hostname: "web-01",
        paths: [`/srv/part-${i}`],
        tags: [],
        size_bytes: 1000 + i,
        file_count: 10,
      });
    }
    s.replaceSnapshots(webId, snapshots);
  });
  clock.advance(240 * MIN);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await login(page, t.url, "admin", "admin-password");
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

test(
  "Alerts shows 100 resolved alerts, newest first; Load more shows the rest, each once",
  async () => {
    await page.goto(`${t.url}/#/alerts?state=resolved`);
    await page.getByRole("heading", { name: "Alerts", exact: true }).waitFor();
    await rowsUntil("tr[data-alert]", 100);
    expect(await page.getByRole("button", { name: "Firing (2)" }).count()).toBe(1);
    const resolved = Array.from({ length: 230 }, (_, i) => `alert_${String(229 - i).padStart(4, "0")}`);
    expect(await attrs("tr[data-alert]", "data-alert")).toEqual(resolved.slice(0, 100));
    await page.getByRole("button", { name: "Load more" }).click();
    await rowsUntil("tr[data-alert]", 200);
    await page.getByRole("button", { name: "Load more" }).click();
    await rowsUntil("tr[data-alert]", 230);
    expect(await attrs("tr[data-alert]", "data-alert")).toEqual(resolved);
    expect(await page.getByRole("button", { name: "Load more" }).count()).toBe(0);
    await shot(page, "paging-01-alerts");
  },
  STEP_TIMEOUT_MS,
);

test(
  "the condition menu asks the server: a full page of that condition, then Load more",
  async () => {
    await page.getByLabel("Show alerts of condition").selectOption("host_offline");
    // 115 resolved host_offline alerts: the first page is 100 of them, not the few of one page.
    await rowsUntil("tr[data-alert]", 100);
    const offline = Array.from({ length: 115 }, (_, i) => `alert_${String(229 - 2 * i).padStart(4, "0")}`);
    expect(await attrs("tr[data-alert]", "data-alert")).toEqual(offline.slice(0, 100));
    expect(page.url()).toContain("condition=host_offline");
    await page.getByRole("button", { name: "Load more" }).click();
    await rowsUntil("tr[data-alert]", 115);
    expect(await attrs("tr[data-alert]", "data-alert")).toEqual(offline);
    expect(await page.getByRole("button", { name: "Load more" }).count()).toBe(0);
  },
  STEP_TIMEOUT_MS,
);

test(
  "a host page shows 50 of 130 snapshots; Load more shows the rest; Restore… on a later one picks it",
  async () => {
    await page.goto(`${t.url}/#/hosts/${webId}`);
    await page.getByRole("heading", { name: "Snapshots" }).waitFor();
    const rows = "table.snapshots tr[data-snapshot]";
    await rowsUntil(rows, 50);
    const newestFirst = [...snapshots].reverse().map((s) => s.short_id);
    expect(await attrs(rows, "data-snapshot")).toEqual(newestFirst.slice(0, 50));
    const more = page.locator("section[aria-labelledby='snap-h']").getByRole("button", { name: "Load more" });
    await more.click();
    await rowsUntil(rows, 100);
    await more.click();
    await rowsUntil(rows, 130);
    expect(await attrs(rows, "data-snapshot")).toEqual(newestFirst);
    expect(await more.count()).toBe(0);
    // The oldest snapshot came with the last page: the run form was made before it, and picks it.
    const oldest = snapshots[0];
    await page
      .locator(`${rows}[data-snapshot="${oldest?.short_id}"]`)
      .getByRole("button", { name: "Restore…" })
      .click();
    expect(await page.locator('select[name="snapshot_id"]:visible').inputValue()).toBe(oldest?.id ?? "");
    await shot(page, "paging-02-snapshots");
  },
  STEP_TIMEOUT_MS,
);
