import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { blankSchedule, queuedJob } from "../server/src/domain/blank-rows.ts";
import { startTestServer, type TestServer } from "../server/src/testing/harness.ts";
import { launchChromium, login, shot as shotOfPage } from "./ui-session.ts";

// The dashboard at fleet size (issue 20 item 3), in headless Chromium against the real server:
// 5,000 hosts with labels (5 envs, 20 sites), schedules and backups that leave them failed, stale,
// warning, pending, ok and unscheduled. The browser shows one page that the server filtered,
// sorted and cut: each view is compared with what the API answers for the same query. The address
// keeps the view (a reload shows the same page). Screenshots under test-artifacts/ui/.
const N = 5000;
const ENVS = ["prod", "staging", "dev", "test", "lab"];
let t: TestServer;
let browser: Browser;
let page: Page;

const shot = (name: string) => shotOfPage(page, name);
/** The host ids of the rows shown, in order. */
const rows = () => page.locator("tr[data-host]").evaluateAll((r) => r.map((x) => x.getAttribute("data-host")));
/** The ids the API gives for a query: what the table must show. */
const apiIds = async (query: string) =>
  ((await t.json(`/api/v1/hosts?${query}`)).body as { items: Array<{ id: string }>; next_cursor: string | null }).items;
/** Waits until the table shows exactly `ids` (the table is redrawn when the answer comes). */
async function showing(ids: string[]) {
  await page.waitForFunction(
    (want) =>
      JSON.stringify([...document.querySelectorAll("tr[data-host]")].map((x) => x.getAttribute("data-host"))) === want,
    JSON.stringify(ids),
  );
}
const hashParams = () => new URLSearchParams(new URL(page.url()).hash.replace(/^#\/\??/, ""));

beforeAll(async () => {
  t = await startTestServer();
  const s = t.server.store;
  const now = Date.now();
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
  s.tx(() => {
    for (let i = 0; i < N; i++) {
      const id = `host_${String(i).padStart(5, "0")}`;
      s.insertHost({
        id,
        name: `host-${String((i * 7919) % N).padStart(4, "0")}`,
        hostname: id,
        restic_host: id,
        agent_token_hash: `t-${id}`,
        enrolled_at: at(600),
        labels: { env: ENVS[i % 5] as string, site: `site-${i % 20}` },
      });
      if (i % 10 === 9) continue; // unscheduled
      s.insertSchedule(
        blankSchedule({ id: `s-${id}`, host_id: id, kind: "backup", cron_expr: "0 * * * *", created_at: at(700) }),
      );
      if (i % 10 === 8) continue; // never backed up: stale by now (enrolled 10 h ago, hourly)
      const job = `j-${id}`;
      const minutesAgo = i % 10 === 7 ? 300 : 20; // 7: its last success is 5 h old, so stale
      s.insertJob(
        queuedJob({ id: job, host_id: id, kind: "backup", actor_kind: "schedule", created_at: at(minutesAgo) }),
      );
      s.markRunning(job, at(minutesAgo));
      const failed = i % 10 === 0;
      const warned = i % 10 === 1;
      s.finishJob(job, {
        status: failed ? "failed" : "succeeded",
        exit_code: failed ? 1 : warned ? 3 : 0,
        finished_at: at(minutesAgo - 1),
        error: failed ? "repository is locked" : warned ? "some files could not be read" : null,
      });
    }
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await login(page, t.url, "admin", "admin-password");
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

test("5,000 hosts: the counters are the summary's, the table one page of the worst first", async () => {
  const summary = (await t.json("/api/v1/hosts/summary")).body;
  expect(summary.total).toBe(N);
  // Every state is there, so the worst-first page is not trivially one state.
  for (const state of ["failed", "stale", "warning", "ok", "unscheduled"])
    expect(summary.health[state]).toBeGreaterThan(0);
  const first = await apiIds("sort=health&limit=50");
  await showing(first.map((h) => h.id));
  const tiles = await page
    .locator(".counters .counter")
    .evaluateAll((ts) =>
      ts.map((x) => [
        x.querySelector(".counter-label")?.textContent ?? "",
        Number(x.querySelector(".counter-value")?.textContent?.replaceAll(",", "")),
      ]),
    );
  expect(Object.fromEntries(tiles)).toMatchObject({
    hosts: N,
    failed: summary.health.failed,
    stale: summary.health.stale,
    warnings: summary.health.warning,
    "backups OK": summary.health.ok,
    unscheduled: summary.health.unscheduled,
  });
  expect(await page.locator(".pager-at").textContent()).toBe("Hosts 1–50 of 5,000");
  expect(await page.locator(`tr[data-host] td[data-label="Backup"] .badge-failed`).count()).toBe(50);
  await shot("fleet-5000-01-first-page");
});

test("Next pages through the server's order; the address keeps the page, a reload shows it again", async () => {
  const one = await t.json("/api/v1/hosts?sort=health&limit=50");
  const second = await apiIds(`sort=health&limit=50&cursor=${one.body.next_cursor}`);
  await page.getByRole("button", { name: "Next" }).click();
  await showing(second.map((h) => h.id));
  expect(hashParams().get("page")).toBe("2");
  expect(hashParams().get("cursor")).toBe(one.body.next_cursor);
  expect(await page.locator(".pager-at").textContent()).toBe("Hosts 51–100 of 5,000");
  await page.reload();
  await showing(second.map((h) => h.id));
  // A page reached by its address has no "Previous" to go back by: it offers the first page.
  await page.getByRole("button", { name: "First page" }).click();
  await showing((await apiIds("sort=health&limit=50")).map((h) => h.id));
  expect(hashParams().get("cursor")).toBeNull();
});

test("the search answers as you type, from the server, and the address keeps it", async () => {
  const box = page.getByLabel("Filter hosts");
  await box.pressSequentially("host-042", { delay: 20 });
  const want = await apiIds("q=host-042&sort=health&limit=50");
  expect(want.length).toBe(10);
  await showing(want.map((h) => h.id));
  expect(hashParams().get("q")).toBe("host-042");
  await shot("fleet-5000-02-search");
  await page.reload();
  await showing(want.map((h) => h.id));
  expect(await page.getByLabel("Filter hosts").inputValue()).toBe("host-042");
  await page.getByLabel("Filter hosts").fill("");
  await showing((await apiIds("sort=health&limit=50")).map((h) => h.id));
});

test("a counter filters on the server, a header sorts on the server", async () => {
  await page.locator(".counters .counter").filter({ hasText: "stale" }).click();
  await showing((await apiIds("health=stale&sort=health&limit=50")).map((h) => h.id));
  expect(hashParams().get("status")).toBe("stale");
  const stale = (await t.json("/api/v1/hosts/summary")).body.health.stale as number;
  expect(await page.locator(".pager-at").textContent()).toBe(`Hosts 1–50 of ${stale.toLocaleString("en-US")}`);
  await page.getByRole("button", { name: "Host", exact: true }).click();
  await showing((await apiIds("health=stale&sort=name&limit=50")).map((h) => h.id));
  expect(hashParams().get("sort")).toBe("name");
  await page.getByLabel("Show hosts with status").selectOption("all");
  await showing((await apiIds("sort=name&limit=50")).map((h) => h.id));
});

test("group by env: a section per value with the summary's count, its first hosts, and more on demand", async () => {
  await page.getByLabel("Group hosts by label").selectOption("env");
  await page.locator('section.host-group[data-group="prod"] tr[data-host]').first().waitFor();
  expect(await page.locator("section.host-group h2").allTextContents()).toEqual(
    [...ENVS].sort().map((e) => `env=${e} · 1,000 hosts`),
  );
  const prod = page.locator('section.host-group[data-group="prod"]');
  const want = await apiIds("label=env=prod&sort=name&limit=50");
  expect(await prod.locator("tr[data-host]").count()).toBe(25);
  await prod.getByRole("button", { name: "Show more of env=prod" }).click();
  await page.waitForFunction(
    () => document.querySelectorAll('section.host-group[data-group="prod"] tr[data-host]').length === 50,
  );
  expect(await prod.locator("tr[data-host]").evaluateAll((r) => r.map((x) => x.getAttribute("data-host")))).toEqual(
    want.map((h) => h.id),
  );
  const prodHealth = (await t.json("/api/v1/hosts/summary?label=env=prod")).body.health;
  expect(await prod.locator(".group-health").textContent()).toContain(`${prodHealth.failed} `);
  expect(hashParams().get("group")).toBe("env");
  await shot("fleet-5000-03-grouped");
  await page.getByLabel("Group hosts by label").selectOption("");
  await showing((await apiIds("sort=name&limit=50")).map((h) => h.id));
  expect(await rows()).toHaveLength(50);
});
