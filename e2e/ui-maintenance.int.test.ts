import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { PROTOCOL_VERSION } from "../protocol/index.ts";
import { ManualClock } from "../server/src/clock.ts";
import { startTestServer, TestAgent, type TestServer } from "../server/src/testing/harness.ts";
import { launchChromium, login, overflows, shot } from "./ui-session.ts";

// The repository page's maintenance (issue 18 item 2) in headless Chromium against the real
// server on loopback, with an injected clock and three hosts whose agents are TestAgents (real
// WebSocket clients). A shared repository's policy prunes nightly and checks an hour later; the
// server fires each tick on one host. Night one: web-a prunes, web-b checks, both succeed.
// Night two: web-c's prune is still running at the check's tick, so the check is skipped. The
// list shows the last prune and check, when, on which host; the Maintenance card the schedules,
// what runs now and each tick's outcome and reason. Screenshots at 1366×900 and 390×844.

const MIN = 60_000;
const HOUR = 60 * MIN;
/** The clock starts 26 h back, so the last night's ticks read as an hour or two ago in the browser. */
const start = new Date(Math.floor(Date.now() / MIN) * MIN - 26 * HOUR);
const clock = new ManualClock(start);
const cronAt = (d: Date) => `${d.getUTCMinutes()} ${d.getUTCHours()} * * *`;
const PRUNE_AT = new Date(start.getTime() + MIN);
const CHECK_AT = new Date(start.getTime() + 61 * MIN);

let t: TestServer;
let browser: Browser;
let page: Page;
let repoId = "";
const agents = new Map<string, { id: string; agent: TestAgent }>();

/** Moves the clock to `ms` after `at` and runs the server's maintenance sweep. */
function tick(at: Date, plusDays = 0) {
  clock.advance(at.getTime() + plusDays * 24 * HOUR + 5_000 - clock.now().getTime());
  t.server.domain.maintenance.sweep();
}

/** The job the server sent this host last, run by its agent: accepted, started, and finished unless `running`. */
async function run(name: string, n: number, end: "succeeded" | "failed" | "running") {
  const { agent } = agents.get(name) as { agent: TestAgent };
  const cmd = await agent.next("command.run", n);
  const ids = [
    agent.send("command.result", { job_id: cmd.payload.job_id, accepted: true }),
    agent.send("job.started", {
      job_id: cmd.payload.job_id,
      kind: cmd.payload.kind,
      started_at: clock.now().toISOString(),
    }),
  ];
  clock.advance(4 * MIN);
  if (end !== "running") {
    ids.push(
      agent.send("job.finished", {
        job_id: cmd.payload.job_id,
        status: end,
        exit_code: end === "succeeded" ? 0 : 1,
        finished_at: clock.now().toISOString(),
      }),
    );
  }
  await agent.acked(...ids);
  return cmd.payload;
}

beforeAll(async () => {
  t = await startTestServer({ clock });
  const repo = await t.json("/api/v1/repositories", {
    method: "POST",
    body: { name: "shared-nas", url: "rest:https://nas.lan/fleet", password: "repo-password" },
  });
  repoId = repo.body.id;
  const policy = await t.json("/api/v1/policies", {
    method: "POST",
    body: {
      name: "nightly",
      selector: {},
      repository_id: repoId,
      schedules: [
        { kind: "prune", cron_expr: cronAt(PRUNE_AT), timezone: "UTC" },
        { kind: "check", cron_expr: cronAt(CHECK_AT), timezone: "UTC" },
      ],
    },
  });
  expect(policy.status).toBe(201);
  for (const name of ["web-a", "web-b", "web-c"]) {
    const h = await t.enroll(name);
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello(PROTOCOL_VERSION, { hostname: name, resticHost: name });
    agents.set(name, { id: h.host_id, agent });
  }
  tick(PRUNE_AT);
  expect((await run("web-a", 0, "succeeded")).kind).toBe("prune");
  tick(CHECK_AT);
  expect((await run("web-b", 0, "succeeded")).kind).toBe("check");
  tick(PRUNE_AT, 1);
  expect((await run("web-c", 0, "running")).kind).toBe("prune");
  tick(CHECK_AT, 1);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await login(page, t.url, "admin", "admin-password");
});

afterAll(async () => {
  for (const { agent } of agents.values()) agent.close();
  await browser?.close();
  await t?.close();
});

const row = () => page.locator(`tr[data-repository="${repoId}"]`);

test("the list shows the last prune and check: result, when, on which host", async () => {
  await page.getByRole("navigation").getByRole("link", { name: "Repositories" }).click();
  await row().waitFor();
  expect(await row().locator(".last-prune").textContent()).toMatch(/^last prune ✓ succeeded .+ ago on web-a$/);
  expect(await row().locator(".last-check").textContent()).toMatch(/^last check ✓ succeeded .+ ago on web-b$/);
  const prune = (await t.json(`/api/v1/repositories/${repoId}`)).body.last_prune;
  expect(await row().locator(".last-prune a.badge-link").getAttribute("href")).toBe(`#/jobs/${prune.job_id}`);
  await shot(page, "maintenance-01-list-1366");
});

test("the Maintenance card: schedules the server runs, what runs now, each tick's outcome and why", async () => {
  await row().getByRole("button", { name: "Maintenance" }).click();
  const card = page.locator("section.maintenance");
  await card.getByRole("heading", { name: "Maintenance of shared-nas" }).waitFor();
  await card.getByText("started by the server on one online host").waitFor();
  expect(await card.locator(".maintenance-facts li").allTextContents()).toEqual([
    expect.stringMatching(/^Last prune: ✓ succeeded .+ ago on web-a \(scheduled\)$/),
    expect.stringMatching(/^Last check: ✓ succeeded .+ ago on web-b \(scheduled\)$/),
    expect.stringMatching(/^Now running: ▶ running .+ ago on web-c \(scheduled\)$/),
  ]);
  const schedules = card.locator("table.maintenance-schedules tbody tr");
  expect(await schedules.count()).toBe(2);
  expect(await schedules.first().textContent()).toContain("3 of 3");
  const ticks = card.locator("table.maintenance-ticks tbody tr");
  expect(await ticks.count()).toBe(4);
  const skipped = card.locator('tr[data-tick="skipped"]');
  expect(await skipped.locator("td.reason").textContent()).toContain(
    "a prune of the repository is already running on host web-c",
  );
  expect(await card.locator('tr[data-tick="fired"]').count()).toBe(3);
  await shot(page, "maintenance-02-card-1366");
});

test("the host page says the server runs the repository's prune and check", async () => {
  await page.goto(`${t.url}/#/hosts/${agents.get("web-a")?.id}`);
  const prune = page.locator("tr[data-schedule]").filter({ hasText: "prune" });
  await prune.locator(".repository-wide").waitFor();
  expect(await prune.locator(".repository-wide").textContent()).toBe(
    "run by the server for the shared repository, on one of its hosts per tick",
  );
  await shot(page, "maintenance-05-host-1366");
  await page.goto(`${t.url}/#/repositories`);
  await row().getByRole("button", { name: "Maintenance" }).click();
  await page.locator("section.maintenance").waitFor();
});

test("at 390 px the list and the card fit the screen", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.locator("section.maintenance").waitFor();
  expect(await overflows(page)).toBe(false);
  await shot(page, "maintenance-03-card-390");
  await page.locator("section.maintenance").getByRole("button", { name: "Close" }).click();
  await row().locator(".last-prune").waitFor();
  expect(await overflows(page)).toBe(false);
  await shot(page, "maintenance-04-list-390");
});
