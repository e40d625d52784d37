// 6. The HTTP API at size. A database seeded with 1,000 hosts and 1,000,000 jobs (hourly
// backups, with logs for a sample), then 10,000 hosts: p50/p99 of the jobs list (first page and a
// deep cursor page), the hosts list and the dashboard, each request alternating with the same
// request to a bare Bun.serve + bun:sqlite over the same file. Also the database size per
// million jobs, against the size of the same jobs as the API's JSON.
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { hostSummaryStore } from "../../server/src/store/host-summary-store.ts";
import { removeDir, stopProcess, tempDir } from "../lib/cleanup.ts";
import type { BenchContext, Benchmark } from "../lib/context.ts";
import { MB } from "../lib/proc.ts";
import { dbBytes, type SeededHost, seedHosts, seedJobs } from "../lib/seed.ts";
import { dbPath, initDataDir, type Served, startBareApi, startFleetServer, waitHttpOk } from "../lib/servers.ts";
import { median, percentile } from "../lib/stats.ts";

const BENCH = "6 api";

/**
 * The dashboard as a browser loads it: the page, then the calls its view makes
 * (server/src/ui/client/main.ts and views/dashboard.ts), with a session cookie.
 */
export const DASHBOARD_URL = "/";
export const DASHBOARD_DATA = ["/api/v1/session", "/api/v1/hosts"];

interface Target {
  label: string;
  /** Requests made in sequence for one sample. */
  paths: string[];
  headers: Record<string, string>;
}

class Timeout extends Error {}

async function timed(base: string, t: Target, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (const p of t.paths) {
    let res: Response;
    try {
      res = await fetch(`${base}${p}`, { headers: t.headers, signal: AbortSignal.timeout(timeoutMs) });
      await res.arrayBuffer();
    } catch (err) {
      if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
        throw new Timeout(`GET ${p} took more than ${timeoutMs / 1000} s`);
      }
      throw err;
    }
    if (res.status !== 200) throw new Error(`GET ${p} answered ${res.status}`);
  }
  return performance.now() - t0;
}

interface Side {
  url: () => string;
  target: Target;
  /** After a timeout the process is stuck in a synchronous loop: replace it. */
  restart: () => Promise<void>;
}

interface Budget {
  warmup: number;
  n: number;
  /** Sampling stops after this long (with at least 3 samples), so a slow endpoint cannot stall the suite. */
  budgetMs: number;
  timeoutMs: number;
}

type Samples = { real: number[] | null; bare: number[] | null };

/**
 * Alternates real and bare requests (order flipped every round). A side whose request times out
 * is restarted and left out (null).
 */
async function compare(real: Side, bare: Side, b: Budget): Promise<Samples> {
  const out: Samples = { real: [], bare: [] };
  const sides: Array<["real" | "bare", Side]> = [
    ["real", real],
    ["bare", bare],
  ];
  const once = async (key: "real" | "bare", side: Side, keep: boolean) => {
    const list = out[key];
    if (list === null) return;
    try {
      const ms = await timed(side.url(), side.target, b.timeoutMs);
      if (keep) list.push(ms);
    } catch (err) {
      if (!(err instanceof Timeout)) throw err;
      out[key] = null;
      await side.restart();
    }
  };
  for (let i = 0; i < b.warmup; i++) for (const [k, side] of sides) await once(k, side, false);
  const t0 = performance.now();
  for (let i = 0; i < b.n; i++) {
    for (const [k, side] of i % 2 === 0 ? sides : [...sides].reverse()) await once(k, side, true);
    if (i >= 2 && performance.now() - t0 > b.budgetMs) break;
  }
  return out;
}

/** GET / with a session if the server serves the web UI; else the hosts list stands in. */
async function dashboardTarget(url: string, token: string): Promise<{ target: Target; note: string }> {
  const bearer = { Authorization: `Bearer ${token}` };
  const page = await fetch(`${url}${DASHBOARD_URL}`);
  const html = page.status === 200 && (page.headers.get("content-type") ?? "").includes("text/html");
  await page.arrayBuffer();
  if (html) {
    const login = await fetch(`${url}/api/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "bench-admin-password" }),
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    await login.arrayBuffer();
    if (login.status === 201 && cookie) {
      return {
        target: { label: "dashboard", paths: [DASHBOARD_URL, ...DASHBOARD_DATA], headers: { Cookie: cookie } },
        note: `GET ${DASHBOARD_URL} (HTML) + ${DASHBOARD_DATA.map((p) => `GET ${p}`).join(" + ")} with a session cookie, in sequence`,
      };
    }
  }
  return {
    target: { label: "dashboard", paths: ["/api/v1/hosts"], headers: bearer },
    note: `no web UI at ${DASHBOARD_URL} in this build: GET /api/v1/hosts (the dashboard's data call) stands in`,
  };
}

/**
 * Diagnosis for GET /hosts: the server's one list statement (hosts with the facts migration 4's
 * triggers keep), run through the store itself on a read-only copy of the connection, and the
 * JSON of its rows: what the request costs before HTTP and the per-host view.
 */
function hostListCost(dataDir: string): string {
  const db = new Database(dbPath(dataDir), { readonly: true });
  try {
    const store = hostSummaryStore(db);
    const sql: number[] = [];
    const json: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const rows = store.hostSummaries();
      const t1 = performance.now();
      bytes = JSON.stringify(rows).length;
      sql.push(t1 - t0);
      json.push(performance.now() - t1);
    }
    return `the list statement with its row conversion takes ${median(sql).toFixed(1)} ms, JSON of those rows ${median(json).toFixed(1)} ms (${(bytes / MB).toFixed(1)} MB); medians of 5`;
  } finally {
    db.close();
  }
}

const sizeLabel = (hosts: number, jobs: number) =>
  `${hosts.toLocaleString("en-US")} hosts, ${jobs >= 1e6 ? `${(jobs / 1e6).toFixed(1)}M` : jobs.toLocaleString("en-US")} jobs`;

/** The cursor the API would hand out after `offset` jobs (newest first). */
function cursorAt(dataDir: string, offset: number): string {
  const db = new Database(dbPath(dataDir), { readonly: true });
  const row = db
    .query<{ created_at: string; id: string }, [number]>(
      "SELECT created_at, id FROM jobs ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?",
    )
    .get(offset);
  db.close();
  if (!row) throw new Error(`no job at offset ${offset}`);
  return Buffer.from(JSON.stringify([row.created_at, row.id])).toString("base64url");
}

async function startPair(ctx: BenchContext, dataDir: string): Promise<{ real: Served; bare: Served; startMs: number }> {
  const t0 = performance.now();
  const realP = startFleetServer(ctx.bins, dataDir);
  const real = await realP;
  const startMs = await waitHttpOk(`${real.url}/healthz`, t0);
  const bare = await startBareApi(ctx.bins, dataDir);
  return { real, bare, startMs };
}

export const api: Benchmark = {
  name: "api",
  title: BENCH,
  async run(ctx: BenchContext) {
    const q = ctx.quick;
    const sz = q
      ? { hosts: 50, perHost: 100, moreHosts: 150, morePerHost: 10, lines: 100 }
      : { hosts: 1_000, perHost: 1_000, moreHosts: 9_000, morePerHost: 100, lines: 200 };
    const work = tempDir("api");
    const dataDir = join(work, "server");
    let pair: { real: Served; bare: Served } | null = null;
    const servers = () => {
      if (!pair) throw new Error("no server running");
      return pair;
    };
    const restart = async (which: "real" | "bare") => {
      const p = servers();
      ctx.log(`  ${which === "real" ? "restic-fleet-server" : "bare server"} timed out: restarting it`);
      await stopProcess(p[which].proc, 1_000);
      p[which] = which === "real" ? await startFleetServer(ctx.bins, dataDir) : await startBareApi(ctx.bins, dataDir);
    };
    const budget: Budget = ctx.quick
      ? { warmup: 1, n: 30, budgetMs: 3_000, timeoutMs: 10_000 }
      : { warmup: 20, n: 300, budgetMs: 60_000, timeoutMs: 30_000 };
    try {
      const { token } = await initDataDir(ctx.bins, dataDir);
      const t0 = performance.now();
      const hosts: SeededHost[] = seedHosts(dataDir, sz.hosts);
      const emptySize = dbBytes(dataDir);
      const seeded = seedJobs(dataDir, hosts, sz.perHost);
      const jobsSize = dbBytes(dataDir) - emptySize;
      // Logs for a sample of jobs, measured apart from the jobs' own size.
      const sample = seedJobs(dataDir, hosts.slice(0, Math.max(1, Math.floor(hosts.length / 10))), 10, {
        logEvery: 1,
        linesPerJob: sz.lines,
        statsPerHost: 0,
      });
      const logsSize = dbBytes(dataDir) - emptySize - jobsSize;
      const jobCount = seeded.jobs + sample.jobs;
      ctx.log(
        `seeded ${hosts.length} hosts, ${jobCount.toLocaleString("en-US")} jobs, ${sample.logLines.toLocaleString("en-US")} log lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );

      const started = await startPair(ctx, dataDir);
      pair = started;
      const bearer = { Authorization: `Bearer ${token}` };
      const deep = cursorAt(dataDir, Math.floor(jobCount * 0.9));
      const scale = sizeLabel(hosts.length, jobCount);

      // Database size per million jobs, against the API's own JSON for the same jobs.
      const jsonBytes = await (async () => {
        let bytes = 0;
        let rows = 0;
        let cursor = "";
        for (let page = 0; page < 4; page++) {
          const res = await fetch(`${servers().real.url}/api/v1/jobs?limit=500${cursor ? `&cursor=${cursor}` : ""}`, {
            headers: bearer,
          });
          const body = (await res.json()) as { items: unknown[]; next_cursor: string | null };
          for (const j of body.items) bytes += JSON.stringify(j).length;
          rows += body.items.length;
          if (!body.next_cursor) break;
          cursor = body.next_cursor;
        }
        return rows ? bytes / rows : 0;
      })();
      ctx.add(BENCH, {
        name: "database size per million jobs",
        unit: "MB",
        value: ((jobsSize / seeded.jobs) * 1e6) / MB,
        baseline: (jsonBytes * 1e6) / MB,
        baselineName: "the same jobs as API JSON",
        note: `${(jobsSize / MB).toFixed(0)} MB for ${seeded.jobs.toLocaleString("en-US")} jobs with their indexes; logs: ${(logsSize / Math.max(1, sample.logLines)).toFixed(0)} B per line`,
      });
      ctx.add(BENCH, {
        name: `server start → /healthz answers (${scale})`,
        unit: "s",
        value: started.startMs / 1000,
      });

      const list = (label: string, path: string): Target => ({ label, paths: [path], headers: bearer });
      const measure = async (
        label: string,
        realTarget: Target,
        bareTarget: Target,
        p99Max: number | null,
        note?: string,
      ) => {
        const r = await compare(
          { url: () => servers().real.url, target: realTarget, restart: () => restart("real") },
          { url: () => servers().bare.url, target: bareTarget, restart: () => restart("bare") },
          budget,
        );
        const pick = (xs: number[] | null, f: (v: number[]) => number) => (xs && xs.length > 0 ? f(xs) : null);
        const extra = [
          note,
          r.real === null ? `restic-fleet-server: a request took over ${budget.timeoutMs / 1000} s (not measured)` : "",
          r.bare === null ? `bare: a request took over ${budget.timeoutMs / 1000} s` : "",
          r.real && r.real.length < budget.n ? `${r.real.length} samples (time budget)` : "",
        ]
          .filter(Boolean)
          .join("; ");
        ctx.add(BENCH, {
          name: `${label} p50`,
          unit: "ms",
          value: pick(r.real, median),
          baseline: pick(r.bare, median),
          baselineName: "bare Bun.serve + bun:sqlite",
        });
        ctx.add(BENCH, {
          name: `${label} p99`,
          unit: "ms",
          value: pick(r.real, (v) => percentile(v, 99)),
          baseline: pick(r.bare, (v) => percentile(v, 99)),
          baselineName: "bare Bun.serve + bun:sqlite",
          ...(p99Max !== null ? { target: { on: "value" as const, max: p99Max } } : {}),
          ...(extra ? { note: extra } : {}),
        });
      };
      await measure(
        `GET /jobs?limit=50, first page (${scale})`,
        list("jobs", "/api/v1/jobs?limit=50"),
        list("jobs", "/api/v1/jobs?limit=50"),
        15,
      );
      const deepPath = `/api/v1/jobs?limit=50&cursor=${deep}`;
      await measure(`GET /jobs?limit=50, cursor at 90% (${scale})`, list("deep", deepPath), list("deep", deepPath), 15);
      const hostsT = list("hosts", "/api/v1/hosts");
      await measure(`GET /hosts (${scale})`, hostsT, hostsT, null, hostListCost(dataDir));
      let dash = await dashboardTarget(servers().real.url, token);
      await measure(`dashboard (${scale})`, dash.target, hostsT, null, dash.note);

      // Grow to 10,000 hosts: restart both on the bigger database.
      await servers().real.stop();
      await servers().bare.stop();
      pair = null;
      const more = seedHosts(dataDir, sz.moreHosts, { namePrefix: "more" });
      const moreJobs = seedJobs(dataDir, more, sz.morePerHost);
      const allHosts = hosts.length + more.length;
      const total = jobCount + moreJobs.jobs;
      pair = await startPair(ctx, dataDir);
      const scale2 = sizeLabel(allHosts, total);
      dash = await dashboardTarget(servers().real.url, token);
      await measure(`GET /hosts (${scale2})`, hostsT, hostsT, 50, hostListCost(dataDir));
      await measure(`dashboard (${scale2})`, dash.target, hostsT, 50, dash.note);
    } finally {
      if (pair) {
        await pair.real.stop();
        await pair.bare.stop();
      }
      removeDir(work);
    }
  },
};
