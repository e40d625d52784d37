// 6. The HTTP API at size. A database seeded with 1,000 hosts and 1,000,000 jobs (hourly
// backups, with logs for a sample), then 10,000 hosts: p50/p99 of the jobs list (first page and a
// deep cursor page), the hosts list and the dashboard, each request alternating with the same
// request to a bare Bun.serve + bun:sqlite over the same file. Also the database size per
// million jobs, against the size of the same jobs as the API's JSON.
import { Database } from "bun:sqlite";
import { join } from "node:path";
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
export const DASHBOARD_CALLS = ["/api/v1/hosts/summary", "/api/v1/hosts?sort=health&limit=50"];
export const DASHBOARD_DATA = ["/api/v1/session", ...DASHBOARD_CALLS];

/** Each seeded host's labels: 5 environments, 20 sites, 10 roles (host n: env n mod 5, and so on). */
const ENVS = ["prod", "staging", "dev", "test", "lab"];
const labelsFor = (n: number) => ({ env: ENVS[n % 5] as string, site: `site-${n % 20}`, role: `role-${n % 10}` });

export interface Target {
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

export interface Side {
  url: () => string;
  target: Target;
  /** After a timeout the process is stuck in a synchronous loop: replace it. */
  restart: () => Promise<void>;
}

export interface Budget {
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

/**
 * The p50 and p99 rows of one request (`label`), the real server alternating with the bare
 * baseline (compare); `p99Max` is the target, if any. Shared with bench/benchmarks/lists.ts.
 */
export async function measurePair(
  ctx: BenchContext,
  bench: string,
  real: Side,
  bare: Side,
  budget: Budget,
  label: string,
  p99Max: number | null,
  note?: string,
): Promise<void> {
  const r = await compare(real, bare, budget);
  const pick = (xs: number[] | null, f: (v: number[]) => number) => (xs && xs.length > 0 ? f(xs) : null);
  const extra = [
    note,
    r.real === null ? `restic-fleet-server: a request took over ${budget.timeoutMs / 1000} s (not measured)` : "",
    r.bare === null ? `bare: a request took over ${budget.timeoutMs / 1000} s` : "",
    r.real && r.real.length < budget.n ? `${r.real.length} samples (time budget)` : "",
  ]
    .filter(Boolean)
    .join("; ");
  ctx.add(bench, {
    name: `${label} p50`,
    unit: "ms",
    value: pick(r.real, median),
    baseline: pick(r.bare, median),
    baselineName: "bare Bun.serve + bun:sqlite",
  });
  ctx.add(bench, {
    name: `${label} p99`,
    unit: "ms",
    value: pick(r.real, (v) => percentile(v, 99)),
    baseline: pick(r.bare, (v) => percentile(v, 99)),
    baselineName: "bare Bun.serve + bun:sqlite",
    ...(p99Max !== null ? { target: { on: "value" as const, max: p99Max } } : {}),
    ...(extra ? { note: extra } : {}),
  });
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

/** The cursor GET /hosts?label=…&sort=name would hand out `share` of the way into the hosts with that label. */
function hostCursorAt(dataDir: string, key: string, value: string, share: number): { cursor: string; of: number } {
  const db = new Database(dbPath(dataDir), { readonly: true });
  try {
    const of =
      db
        .query<{ n: number }, [string, string]>("SELECT count(*) AS n FROM host_labels WHERE key = ? AND value = ?")
        .get(key, value)?.n ?? 0;
    const row = db
      .query<{ name: string; id: string }, [string, string, number]>(
        `SELECT h.name, h.id FROM hosts h JOIN host_labels l ON l.host_id = h.id AND l.key = ? AND l.value = ?
         ORDER BY h.name, h.id LIMIT 1 OFFSET ?`,
      )
      .get(key, value, Math.floor(of * share));
    if (!row) throw new Error(`no host with ${key}=${value} at ${share * 100}%`);
    return { cursor: Buffer.from(JSON.stringify(["name", row.name, row.id])).toString("base64url"), of };
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

export async function startPair(
  ctx: BenchContext,
  dataDir: string,
): Promise<{ real: Served; bare: Served; startMs: number }> {
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
      ? { hosts: 50, perHost: 100, moreHosts: 150, morePerHost: 10, mostHosts: 300, mostPerHost: 2, lines: 100 }
      : {
          hosts: 1_000,
          perHost: 1_000,
          moreHosts: 9_000,
          morePerHost: 100,
          mostHosts: 40_000,
          mostPerHost: 10,
          lines: 200,
        };
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
      const hosts: SeededHost[] = seedHosts(dataDir, sz.hosts, { labelsFor });
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
      const measure = (label: string, realTarget: Target, bareTarget: Target, p99Max: number | null, note?: string) =>
        measurePair(
          ctx,
          BENCH,
          { url: () => servers().real.url, target: realTarget, restart: () => restart("real") },
          { url: () => servers().bare.url, target: bareTarget, restart: () => restart("bare") },
          budget,
          label,
          p99Max,
          note,
        );
      await measure(
        `GET /jobs?limit=50, first page (${scale})`,
        list("jobs", "/api/v1/jobs?limit=50"),
        list("jobs", "/api/v1/jobs?limit=50"),
        15,
      );
      const deepPath = `/api/v1/jobs?limit=50&cursor=${deep}`;
      await measure(`GET /jobs?limit=50, cursor at 90% (${scale})`, list("deep", deepPath), list("deep", deepPath), 15);
      // The host list and the dashboard (issue 20): its calls (summary + first page, worst first),
      // and the whole page load as a browser makes it (HTML, session, the same calls).
      const hostsT = list("hosts", "/api/v1/hosts?limit=100");
      const callsT: Target = { label: "dashboard calls", paths: DASHBOARD_CALLS, headers: bearer };
      const hostRows = async (scale: string, callsMax: number | null, deepMax: number | null) => {
        await measure(`GET /hosts?limit=100, first page (${scale})`, hostsT, hostsT, null);
        await measure(`dashboard calls: summary + first page by health (${scale})`, callsT, callsT, callsMax);
        const deepHost = hostCursorAt(dataDir, "env", "prod", 0.9);
        const deepHostT = list("hosts deep", `/api/v1/hosts?label=env=prod&limit=100&cursor=${deepHost.cursor}`);
        await measure(
          `GET /hosts?label=env=prod&limit=100, cursor at 90% (${scale})`,
          deepHostT,
          deepHostT,
          deepMax,
          `${deepHost.of.toLocaleString("en-US")} hosts carry env=prod`,
        );
        const dash = await dashboardTarget(servers().real.url, token);
        await measure(`dashboard page load (${scale})`, dash.target, callsT, null, dash.note);
      };
      await hostRows(scale, null, null);

      // Grow to 10,000 hosts, then 50,000: restart both on the bigger database.
      const grow = async (n: number, perHost: number, prefix: string) => {
        await servers().real.stop();
        await servers().bare.stop();
        pair = null;
        const added = seedHosts(dataDir, n, { namePrefix: prefix, labelsFor });
        const addedJobs = seedJobs(dataDir, added, perHost);
        pair = await startPair(ctx, dataDir);
        return { hosts: added.length, jobs: addedJobs.jobs };
      };
      const more = await grow(sz.moreHosts, sz.morePerHost, "more");
      let allHosts = hosts.length + more.hosts;
      let total = jobCount + more.jobs;
      await hostRows(sizeLabel(allHosts, total), 20, null);
      const most = await grow(sz.mostHosts, sz.mostPerHost, "most");
      allHosts += most.hosts;
      total += most.jobs;
      await hostRows(sizeLabel(allHosts, total), 50, 50);
    } finally {
      if (pair) {
        await pair.real.stop();
        await pair.bare.stop();
      }
      removeDir(work);
    }
  },
};
