import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { encode } from "../protocol/index.ts";
import { startTestServer, TestAgent, type TestServer } from "../server/src/testing/harness.ts";
import { agentDebName, SERVER_VERSION } from "../server/src/version.ts";
import { launchChromium, login, overflows, shot, shotOf } from "./ui-session.ts";

// Every page of the UI, in headless Chromium against the real server on loopback, at a phone's
// 390x844 and a laptop's 1366x900, over a fleet seeded through test agents on real WebSockets:
// web-01 busy and OK (20 jobs, 24 snapshots, a week of repository reports), db-01 failed,
// app-01 stale (an hourly schedule, its last good backup 3 h ago), old-01 offline. On each page:
// no sideways scrolling, no card or column wider than its container, and a quiet console (no
// error, no uncaught exception, no failed request). Screenshots land in test-artifacts/ui/.
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const STEP_TIMEOUT_MS = 120_000;
const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();
const hex = (n: number, len: number) => n.toString(16).padStart(len, "0");

let t: TestServer;
let browser: Browser;
const agents: TestAgent[] = [];
const ids = { web: "", db: "", app: "", old: "", job: "", policy: "" };

/** A job run from the API and reported by the test agent, as a real agent would; waits for the acks. */
async function runJob(
  a: TestAgent,
  hostId: string,
  kind: "backup" | "check" | "forget",
  finishedAt: number,
  result: { status: "succeeded" | "failed"; error?: string; stats?: Record<string, unknown> },
): Promise<string> {
  const spec =
    kind === "backup" ? { paths: ["/srv/www", "/etc"] } : kind === "forget" ? { policy: { keep_daily: 7 } } : {};
  const made = await t.json(`/api/v1/hosts/${hostId}/jobs`, { method: "POST", body: { kind, spec } });
  if (made.status !== 201) throw new Error(`${kind}: ${JSON.stringify(made.body)}`);
  const jobId: string = made.body.id;
  await a.until(() => a.of("command.run").find((m) => m.payload.job_id === jobId), "command.run");
  const sent = [
    a.send("command.result", { job_id: jobId, accepted: true }),
    a.send("job.started", { job_id: jobId, kind, started_at: iso(finishedAt - 90_000) }),
    a.send("job.log", {
      lines: [
        { job_id: jobId, seq: 1, ts: iso(finishedAt - 80_000), stream: "event", payload: "restic started" },
        { job_id: jobId, seq: 2, ts: iso(finishedAt - 1000), stream: "stdout", payload: "processed 1234 files" },
      ],
    }),
    a.send("job.finished", {
      job_id: jobId,
      status: result.status,
      exit_code: result.status === "succeeded" ? 0 : 1,
      finished_at: iso(finishedAt),
      ...(result.stats ? { stats: result.stats } : {}),
      ...(result.error ? { error: result.error } : {}),
    }),
  ];
  await a.acked(...sent);
  return jobId;
}

async function agentFor(name: string, labels: Record<string, string>): Promise<[string, TestAgent]> {
  const e = await t.enroll(name);
  await t.json(`/api/v1/hosts/${e.host_id}`, { method: "PATCH", body: { labels } });
  const a = await TestAgent.connect(t.url, e.agent_token);
  agents.push(a);
  await a.hello(7, { hostname: name, resticHost: name, timezone: "UTC" });
  return [e.host_id, a];
}

beforeAll(async () => {
  t = await startTestServer();
  const repo = await t.json("/api/v1/repositories", {
    method: "POST",
    body: { name: "offsite-per-host", url: "s3:https://s3.example.com/backups/{host}", auto_init: true },
  });
  expect(repo.status).toBe(201);
  const policy = await t.json("/api/v1/policies", {
    method: "POST",
    body: {
      name: "prod nightly",
      selector: { labels: { env: "prod" } },
      schedules: [{ kind: "backup", cron_expr: "0 3 * * *", paths: ["/srv/www", "/etc", "/var/lib/postgresql"] }],
    },
  });
  expect(policy.status).toBe(201);
  ids.policy = policy.body.id;
  const channel = await t.json("/api/v1/notification-channels", {
    method: "POST",
    body: { name: "ops hook", kind: "webhook", config: { url: "http://127.0.0.1:9/hook" } },
  });
  expect(channel.status).toBe(201);
  const rule = await t.json("/api/v1/alert-rules", {
    method: "POST",
    body: { name: "failures", conditions: ["backup_failed", "host_offline"], channel_ids: [channel.body.id] },
  });
  expect(rule.status).toBe(201);
  expect(
    (
      await t.json("/api/v1/users", {
        method: "POST",
        body: { username: "viewer", password: "viewer-password-1", role: "viewer" },
      })
    ).status,
  ).toBe(201);

  // web-01: busy and OK.
  const [web, wa] = await agentFor("web-01", { env: "prod", role: "web", region: "eu-west-1" });
  ids.web = web;
  for (const body of [
    {
      kind: "backup",
      cron_expr: "30 */6 * * *",
      paths: ["/srv/www/uploads", "/var/lib/postgresql/15/main"],
      tags: ["six-hourly"],
    },
    {
      kind: "forget",
      cron_expr: "0 4 * * *",
      retention_policy: { keep_daily: 7, keep_weekly: 4, keep_monthly: 12 },
      options: { prune: true },
    },
    { kind: "check", cron_expr: "0 5 * * 0", options: { read_data_subset: "k/7" } },
    { kind: "drill", cron_expr: "0 6 * * 1", options: { sample_files: 10, max_bytes: "500M" } },
  ]) {
    const made = await t.json(`/api/v1/hosts/${web}/schedules`, { method: "POST", body });
    if (made.status !== 201) throw new Error(JSON.stringify(made.body));
  }
  for (let i = 19; i >= 0; i--) {
    const kind = i % 5 === 0 ? "check" : i % 7 === 0 ? "forget" : "backup";
    const id = await runJob(wa, web, kind, now - i * 6 * HOUR - 60_000, {
      status: "succeeded",
      stats:
        kind === "backup"
          ? { snapshot_id: hex(0x100 + i, 8), total_bytes_processed: 1_500_000_000 + i, total_files_processed: 120_345 }
          : {},
    });
    if (kind === "backup") ids.job = id; // the newest backup: a job page with its statistics
  }
  // 24 snapshots, the oldest without a size (restic 0.14 records none, and the agent made it before it started).
  const snapshots = Array.from({ length: 24 }, (_, i) => ({
    id: hex(i + 1, 64),
    short_id: hex(i + 1, 8),
    time: iso(now - (24 - i) * 6 * HOUR),
    hostname: "web-01",
    paths: ["/srv/www", "/etc", "/var/lib/postgresql/15/main"],
    tags: ["nightly", "prod"],
    ...(i === 0 ? {} : { size_bytes: 1_500_000_000 + i * 10_000_000, file_count: 120_000 + i }),
  }));
  const stats = Array.from({ length: 8 }, (_, i) =>
    encode(
      "repo.stats",
      {
        size_bytes: 900_000_000 + i * 50_000_000,
        snapshot_count: 17 + i,
        dedup_ratio: 6.5,
        lock_state: "unlocked",
      },
      { now: () => new Date(now - (7 - i) * DAY - 60_000) },
    ),
  );
  const reportIds = [wa.send("snapshots.report", { snapshots })];
  for (const frame of stats) {
    wa.sendRaw(frame);
    reportIds.push(JSON.parse(frame).id);
  }
  await wa.acked(...reportIds);

  // db-01: its last backup failed.
  const [db, da] = await agentFor("db-01", { env: "prod", role: "db" });
  ids.db = db;
  await runJob(da, db, "backup", now - 2 * HOUR, { status: "succeeded" });
  await runJob(da, db, "backup", now - HOUR, {
    status: "failed",
    error:
      "Fatal: unable to open repository at s3:https://s3.example.com/backups/db-01: wrong password or no key found",
  });
  // A tiny repository: its dedup ratio means nothing.
  const tiny = encode("repo.stats", { size_bytes: 4096, snapshot_count: 1, dedup_ratio: 0.01, lock_state: "unlocked" });
  da.sendRaw(tiny);
  await da.acked(JSON.parse(tiny).id);

  // app-01: an hourly schedule, its last good backup 3 h ago: stale.
  const [app, aa] = await agentFor("app-01", { env: "staging" });
  ids.app = app;
  expect(
    (
      await t.json(`/api/v1/hosts/${app}/schedules`, {
        method: "POST",
        body: { kind: "backup", cron_expr: "0 * * * *", paths: ["/srv"] },
      })
    ).status,
  ).toBe(201);
  await runJob(aa, app, "backup", now - 3 * HOUR, { status: "succeeded" });
  const sameDay = [3, 1].map((h) =>
    encode(
      "repo.stats",
      { size_bytes: 400_000_000 - h * 50_000_000, snapshot_count: 4 - h, dedup_ratio: 1.2, lock_state: "unlocked" },
      { now: () => new Date(now - h * HOUR) },
    ),
  );
  for (const frame of sameDay) aa.sendRaw(frame);
  await aa.acked(...sameDay.map((f) => JSON.parse(f).id));

  // old-01: was online, now gone.
  const [old, oa] = await agentFor("old-01", {});
  ids.old = old;
  oa.close();
  await oa.waitClosed();

  const health = async (id: string) => (await t.json(`/api/v1/hosts/${id}`)).body;
  expect((await health(web)).backup_health).toBe("ok");
  expect((await health(db)).backup_health).toBe("failed");
  expect((await health(app)).backup_health).toBe("stale");
  expect((await health(old)).online).toBe(false);

  browser = await launchChromium();
});

afterAll(async () => {
  for (const a of agents) a.close();
  await browser?.close();
  await t?.close();
});

/** What went wrong in the browser since the last call: console errors, page errors, failed requests. */
function watch(p: Page) {
  const problems: string[] = [];
  p.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  p.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  p.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  p.on("requestfailed", (r) => {
    // The event stream is cut when a page is left or closed: that is the browser, not a failure.
    if (r.failure()?.errorText === "net::ERR_ABORTED" && r.url().includes("/events")) return;
    problems.push(`failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  return () => problems.splice(0);
}

/**
 * Cards, columns, sections and figures wider than their own box or sticking out of their parent
 * (a scroll box such as a <pre> may scroll inside; what holds it must not).
 */
const offenders = (p: Page) =>
  p.evaluate(() => {
    const out: string[] = [];
    const name = (el: Element) =>
      `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${el.className && typeof el.className === "string" ? `.${el.className.trim().replaceAll(/\s+/g, ".")}` : ""}${el.getAttribute("aria-labelledby") ? `[${el.getAttribute("aria-labelledby")}]` : ""}`;
    for (const el of document.querySelectorAll("main, .view, .card, .columns, .columns > *, section, figure, table")) {
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${name(el)} scrolls ${el.scrollWidth} > ${el.clientWidth}`);
      const parent = el.parentElement;
      if (!parent) continue;
      const r = el.getBoundingClientRect();
      const pr = parent.getBoundingClientRect();
      if (r.width > 0 && r.right > pr.right + 1)
        out.push(`${name(el)} sticks out of ${name(parent)} by ${Math.round(r.right - pr.right)} px`);
    }
    return out;
  });

interface Visit {
  name: string;
  hash: string;
  /** What shows once the page has loaded. */
  ready: (p: Page) => Promise<unknown>;
}

const heading = (p: Page, name: string | RegExp) =>
  p
    .getByRole("heading", { name, exact: typeof name === "string" })
    .first()
    .waitFor();
const pages = (): Visit[] => [
  { name: "dashboard", hash: "#/", ready: (p) => p.locator(`tr[data-host="${ids.old}"]`).waitFor() },
  {
    name: "host-busy",
    hash: `#/hosts/${ids.web}`,
    ready: async (p) => {
      await p.locator(".chart path.line-size").waitFor();
      await p.locator("tr[data-snapshot]").first().waitFor();
      // The run form at its widest: a restore, with its snapshot and target-host menus.
      await p.getByLabel("Job", { exact: true }).selectOption("restore");
    },
  },
  { name: "host-failed", hash: `#/hosts/${ids.db}`, ready: (p) => heading(p, "Repository health") },
  { name: "host-stale", hash: `#/hosts/${ids.app}`, ready: (p) => heading(p, "Repository health") },
  { name: "host-offline", hash: `#/hosts/${ids.old}`, ready: (p) => heading(p, "Repository health") },
  { name: "job", hash: `#/jobs/${ids.job}`, ready: (p) => p.locator(".log li").first().waitFor() },
  { name: "jobs", hash: "#/jobs", ready: (p) => p.locator("tr[data-job]").first().waitFor() },
  { name: "tokens", hash: "#/tokens", ready: (p) => p.locator("tr[data-token]").first().waitFor() },
  { name: "alerts", hash: "#/alerts", ready: (p) => p.locator("tr[data-alert]").first().waitFor() },
  { name: "policies", hash: "#/policies", ready: (p) => p.locator("tr[data-policy]").first().waitFor() },
  { name: "policy", hash: `#/policies/${ids.policy}`, ready: (p) => p.locator(".preview li").first().waitFor() },
  { name: "repositories", hash: "#/repositories", ready: (p) => p.locator("tr[data-repository]").first().waitFor() },
  { name: "channels", hash: "#/channels", ready: (p) => p.locator("tr[data-channel]").first().waitFor() },
  { name: "enroll", hash: "#/enroll", ready: (p) => heading(p, "Add hosts") },
  { name: "users", hash: "#/users", ready: (p) => p.locator('tr[data-user="viewer"]').waitFor() },
  { name: "audit", hash: "#/audit", ready: (p) => p.locator("tbody tr").first().waitFor() },
];

const sizes = [
  { label: "390", viewport: { width: 390, height: 844 } },
  { label: "1366", viewport: { width: 1366, height: 900 } },
];

for (const { label, viewport } of sizes) {
  test(
    `at ${label} px: the login page fits and its console stays quiet (no 401 for the session probe)`,
    async () => {
      const ctx: BrowserContext = await browser.newContext({ viewport });
      const p = await ctx.newPage();
      const problems = watch(p);
      await p.goto(t.url);
      await p.getByRole("button", { name: "Log in" }).waitFor();
      await shot(p, `layout-${label}-login`);
      expect(await overflows(p)).toBe(false);
      expect(problems()).toEqual([]);
      await ctx.close();
    },
    STEP_TIMEOUT_MS,
  );

  test(
    `at ${label} px: every page fits its viewport, no card sticks out, and the console stays quiet`,
    async () => {
      const ctx = await browser.newContext({ viewport });
      const p = await ctx.newPage();
      const problems = watch(p);
      await login(p, t.url, "admin", "admin-password");
      const report: Record<string, string[]> = {};
      const atLogin = problems();
      if (atLogin.length) report.login = atLogin;
      for (const v of pages()) {
        await p.goto(`${t.url}/${v.hash}`);
        await v.ready(p);
        await shot(p, `layout-${label}-${v.name}`);
        const words = await p.evaluate(() => document.body.textContent ?? "");
        const found = [
          ...(words.includes("(s)") ? ['a "(s)" plural on the page'] : []),
          ...((await overflows(p)) ? ["the page scrolls sideways"] : []),
          ...(await offenders(p)),
          ...problems(),
        ];
        if (found.length) report[v.name] = found;
      }
      expect(report).toEqual({});
      await ctx.close();
    },
    STEP_TIMEOUT_MS,
  );
}

/** The chart's labels: what they say and the smallest font size among them, in CSS px. */
const chartLabels = (p: Page) =>
  p.evaluate(() => {
    // The repository chart's box, not the runs chart further down the host page.
    const box = "section[aria-labelledby=chart-h] .chart-box";
    const all = [...document.querySelectorAll<HTMLElement>(`${box} .chart-x span, ${box} .chart-y`)];
    return {
      x: [...document.querySelectorAll(`${box} .chart-x span`)].map((e) => e.textContent ?? ""),
      minPx: Math.min(...all.map((e) => Number.parseFloat(getComputedStyle(e).fontSize))),
      minHeight: Math.min(...all.map((e) => e.getBoundingClientRect().height)),
      dots: [...document.querySelectorAll(".chart .dots-size")].map((d) => d.getAttribute("d") ?? ""),
      caption: document.querySelector(`${box} figcaption`)?.textContent ?? "",
    };
  });

test(
  "at 390 px the values read as words: readable chart labels (dates, times, one point), dedup only when it means something, snapshot sizes, audit details, the .deb command",
  async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const p = await ctx.newPage();
    p.on("dialog", (d) => void d.accept());
    await login(p, t.url, "admin", "admin-password");

    // A week of reports: dates, a ratio worth showing.
    await p.goto(`${t.url}/#/hosts/${ids.web}`);
    await p.locator(".chart path.line-size").waitFor({ state: "attached" });
    await shotOf(p.locator("section[aria-labelledby=chart-h]"), "layout-390-chart-week");
    let c = await chartLabels(p);
    expect(c.minPx).toBeGreaterThanOrEqual(12);
    expect(c.minHeight).toBeGreaterThanOrEqual(12);
    expect(c.x).toHaveLength(3);
    expect(new Set(c.x).size).toBe(3);
    expect(c.x.join(" ")).not.toContain(":");
    expect(c.caption).toContain("dedup ×6.50");
    // The oldest snapshot has no size to show, and says why.
    const oldest = p.locator('tr[data-snapshot="00000001"] td[data-label="Size"] span');
    expect(await oldest.textContent()).toBe("n/a");
    expect(await oldest.getAttribute("title")).toContain("restic before 0.17");
    expect(await p.locator('tr[data-snapshot="00000002"] td[data-label="Size"]').textContent()).toBe(
      "1.4 GiB · 120,001 files",
    );

    // Two reports 2 h apart: times.
    await p.goto(`${t.url}/#/hosts/${ids.app}`);
    await p.locator(".chart path.line-size").waitFor({ state: "attached" });
    await shotOf(p.locator("section[aria-labelledby=chart-h]"), "layout-390-chart-hours");
    c = await chartLabels(p);
    expect(c.x).toHaveLength(3);
    for (const l of c.x) expect(l).toMatch(/\d:\d\d/);

    // One report of a 4 KiB repository: a dot, its date and time, no "dedup ×0.01".
    await p.goto(`${t.url}/#/hosts/${ids.db}`);
    await p.locator(".chart .dots-size").waitFor({ state: "attached" });
    await shotOf(p.locator("section[aria-labelledby=chart-h]"), "layout-390-chart-one-point");
    c = await chartLabels(p);
    // A zero-length, round-capped stroke in the middle of the plot: a 6 px dot.
    expect(c.dots).toEqual(["M500.0,2.0 h0"]);
    expect(c.x).toHaveLength(1);
    expect(c.x[0]).toMatch(/\d:\d\d/);
    expect(c.caption).not.toContain("dedup");

    // The audit log: key: value lines, no JSON.
    await p.goto(`${t.url}/#/audit`);
    await p.locator("tbody tr").first().waitFor();
    await shotOf(p.locator("tbody tr").first(), "layout-390-audit-entry");
    const details = (await p.locator("td.audit-detail").allTextContents()).join("\n");
    expect(details).not.toContain('{"');
    expect(details).toContain("kind: backup");
    expect(details).toContain("cron_expr: 0 * * * *");

    // Add hosts: a token for one host, and a .deb command that names the real file.
    await p.goto(`${t.url}/#/enroll`);
    await p.getByLabel("How many hosts may enroll with it").fill("1");
    await p.getByRole("button", { name: "Create enrollment token" }).click();
    await p.getByText(/^Good for 1 host until/).waitFor();
    const deb = (await p.locator("pre").filter({ hasText: "apt-get install" }).textContent()) ?? "";
    expect(deb).not.toContain("<version>");
    expect(deb).toContain(`sudo apt-get install ./${agentDebName(SERVER_VERSION)}`);
    expect(agentDebName("0.1.0-dev")).toBe("restic-fleet-agent_0.1.0~dev-1_amd64.deb");
    await shot(p, "layout-390-enroll-token");
    expect(await overflows(p)).toBe(false);
    await ctx.close();
  },
  STEP_TIMEOUT_MS,
);
