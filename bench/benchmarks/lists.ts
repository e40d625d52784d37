// 12. The fleet's other long lists (issue 20 item 7): GET /alerts and a host's snapshots, keyset-
// paged like GET /jobs. A database seeded with 10,000 labelled hosts, 200,000 alerts (a year of
// them, 1,000 firing) and one host with 5,000 snapshots (the others with 20 each): p50/p99 of a
// first page and of a page 90% deep, unfiltered and under a label (env=prod, on 2,000 hosts: the
// time order walked, each alert's host checked; site=site-3, on 500: each host's alerts read),
// each request alternating with the same request to the bare Bun.serve + bun:sqlite baseline
// (bench/fixtures/bare-api-server.ts) over the same file; and a label whose 100 hosts never alert.
import { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { removeDir, stopProcess, tempDir } from "../lib/cleanup.ts";
import type { BenchContext, Benchmark } from "../lib/context.ts";
import { checkpoint, openSeedDb, type SeededHost, seedHosts } from "../lib/seed.ts";
import { dbPath, initDataDir, type Served, startBareApi, startFleetServer } from "../lib/servers.ts";
import { type Budget, measurePair, startPair, type Target } from "./api.ts";

const BENCH = "12 lists";
const CONDITIONS = ["backup_failed", "backup_stale", "host_offline", "check_failed"];
const ENVS = ["prod", "staging", "dev", "test", "lab"];
/** As in bench 6, and tier=quiet on every 100th host, which never alerts. */
const quiet = (n: number) => n % 100 === 99;
const labelsFor = (n: number) => ({
  env: ENVS[n % 5] as string,
  site: `site-${n % 20}`,
  role: `role-${n % 10}`,
  tier: quiet(n) ? "quiet" : "busy",
});
const DAY = 86_400_000;

/** Alerts spread over the year before now, newest `firing` of them firing (one per host at most). */
function seedAlerts(dataDir: string, hosts: readonly SeededHost[], n: number, firing: number): void {
  const db = openSeedDb(dataDir);
  const ins = db.query(
    `INSERT INTO alerts (id, host_id, condition, state, started_at, resolved_at, summary, notified_at, resolve_notified_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?5, ?6)`,
  );
  const now = Date.now();
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      // A quiet host's share goes to its neighbour.
      const host = hosts[(i % hosts.length) - (quiet(i % hosts.length) ? 1 : 0)] as SeededHost;
      const started = new Date(now - 365 * DAY + Math.floor((i / n) * 365 * DAY)).toISOString();
      const open = i >= n - Math.min(firing, hosts.length) && !quiet(i % hosts.length);
      const condition = open ? "backup_failed" : (CONDITIONS[i % CONDITIONS.length] as string);
      ins.run(
        `alert_${randomBytes(10).toString("hex")}`,
        host.id,
        condition,
        open ? "firing" : "resolved",
        started,
        open ? null : new Date(Date.parse(started) + 3_600_000).toISOString(),
        `${condition.replace("_", " ")} on the host since ${started}`,
      );
    }
  })();
  checkpoint(db);
  db.close();
}

/** `perHost` snapshots each (hourly, back from now), `many` for the first host. */
function seedSnapshots(dataDir: string, hosts: readonly SeededHost[], perHost: number, many: number): void {
  const db = openSeedDb(dataDir);
  const ins = db.query(
    `INSERT INTO snapshots (host_id, id, short_id, time, hostname, paths, tags, size_bytes, file_count)
     VALUES (?, ?, ?, ?, ?, '["/srv/data"]', '["nightly"]', ?, ?)`,
  );
  const now = Date.now();
  db.transaction(() => {
    hosts.forEach((h, k) => {
      for (let i = 0; i < (k === 0 ? many : perHost); i++) {
        const id = randomBytes(32).toString("hex");
        ins.run(h.id, id, id.slice(0, 8), new Date(now - i * 3_600_000).toISOString(), h.id, 5_000_000 + i, 1200);
      }
    });
  })();
  checkpoint(db);
  db.close();
}

/** The cursor the API would hand out `share` of the way into the rows `sql` orders (time, id). */
function cursorAt(dataDir: string, sql: string, args: string[], share: number): { cursor: string; of: number } {
  const db = new Database(dbPath(dataDir), { readonly: true });
  try {
    const of = db.query<{ n: number }, string[]>(`SELECT count(*) AS n FROM (${sql})`).get(...args)?.n ?? 0;
    const row = db
      .query<{ t: string; id: string }, Array<string | number>>(`${sql} LIMIT 1 OFFSET ?`)
      .get(...args, Math.floor(of * share));
    if (!row) throw new Error(`no row at ${share * 100}% of ${sql}`);
    return { cursor: Buffer.from(JSON.stringify([row.t, row.id])).toString("base64url"), of };
  } finally {
    db.close();
  }
}

export const lists: Benchmark = {
  name: "lists",
  title: BENCH,
  async run(ctx: BenchContext) {
    const sz = ctx.quick
      ? { hosts: 500, alerts: 10_000, firing: 100, snapshots: 1_000, perHost: 5 }
      : { hosts: 10_000, alerts: 200_000, firing: 1_000, snapshots: 5_000, perHost: 20 };
    const budget: Budget = ctx.quick
      ? { warmup: 1, n: 30, budgetMs: 3_000, timeoutMs: 10_000 }
      : { warmup: 20, n: 300, budgetMs: 30_000, timeoutMs: 30_000 };
    const work = tempDir("lists");
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
    try {
      const { token } = await initDataDir(ctx.bins, dataDir);
      const t0 = performance.now();
      const hosts = seedHosts(dataDir, sz.hosts, { labelsFor });
      seedAlerts(dataDir, hosts, sz.alerts, sz.firing);
      seedSnapshots(dataDir, hosts, sz.perHost, sz.snapshots);
      ctx.log(
        `seeded ${hosts.length} hosts, ${sz.alerts.toLocaleString("en-US")} alerts, ${sz.snapshots} snapshots of one host in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      pair = await startPair(ctx, dataDir);
      const bearer = { Authorization: `Bearer ${token}` };
      const get = (path: string): Target => ({ label: path, paths: [path], headers: bearer });
      const measure = (label: string, path: string, note?: string) =>
        measurePair(
          ctx,
          BENCH,
          { url: () => servers().real.url, target: get(path), restart: () => restart("real") },
          { url: () => servers().bare.url, target: get(path), restart: () => restart("bare") },
          budget,
          label,
          // As a jobs page (bench 6): a deep page costs what the first does.
          15,
          note,
        );
      const scale = `${hosts.length.toLocaleString("en-US")} hosts, ${sz.alerts.toLocaleString("en-US")} alerts`;
      /** A label's alerts in page order (and of one state), to place a deep cursor among them. */
      const labelled = (key: string, value: string, share: number, state?: string) =>
        cursorAt(
          dataDir,
          `SELECT a.started_at AS t, a.id FROM alerts a JOIN host_labels l ON l.host_id = a.host_id AND l.key = ? AND l.value = ?
           ${state ? "WHERE a.state = ?" : ""} ORDER BY a.started_at DESC, a.id DESC`,
          state ? [key, value, state] : [key, value],
          share,
        );

      await measure(`GET /alerts?limit=100, first page (${scale})`, "/api/v1/alerts?limit=100");
      const deep = cursorAt(
        dataDir,
        "SELECT started_at AS t, id FROM alerts ORDER BY started_at DESC, id DESC",
        [],
        0.9,
      );
      await measure(
        `GET /alerts?limit=100, cursor at 90% (${scale})`,
        `/api/v1/alerts?limit=100&cursor=${deep.cursor}`,
      );
      const prod = labelled("env", "prod", 0.9, "resolved");
      await measure(
        `GET /alerts?state=resolved&label=env=prod&limit=100, cursor at 90% (${scale})`,
        `/api/v1/alerts?state=resolved&label=env=prod&limit=100&cursor=${prod.cursor}`,
        `${prod.of.toLocaleString("en-US")} alerts on the ${(hosts.length / 5).toLocaleString("en-US")} hosts with env=prod`,
      );
      const site = labelled("site", "site-3", 0.9);
      await measure(
        `GET /alerts?label=site=site-3&limit=100, cursor at 90% (${scale})`,
        `/api/v1/alerts?label=site=site-3&limit=100&cursor=${site.cursor}`,
        `${site.of.toLocaleString("en-US")} alerts on the ${(hosts.length / 20).toLocaleString("en-US")} hosts with site=site-3`,
      );
      await measure(
        `GET /alerts?label=tier=quiet&limit=100 (${scale})`,
        "/api/v1/alerts?label=tier=quiet&limit=100",
        `${(hosts.length / 100).toLocaleString("en-US")} hosts carry tier=quiet and none has an alert: walking the time order would read every alert`,
      );
      const host = (hosts[0] as SeededHost).id;
      const snaps = `${sz.snapshots.toLocaleString("en-US")} snapshots`;
      await measure(
        `GET /hosts/:id/snapshots?limit=100, first page (${snaps})`,
        `/api/v1/hosts/${host}/snapshots?limit=100`,
      );
      const deepSnap = cursorAt(
        dataDir,
        "SELECT time AS t, id FROM snapshots WHERE host_id = ? ORDER BY time DESC, id DESC",
        [host],
        0.9,
      );
      await measure(
        `GET /hosts/:id/snapshots?limit=100, cursor at 90% (${snaps})`,
        `/api/v1/hosts/${host}/snapshots?limit=100&cursor=${deepSnap.cursor}`,
      );
    } finally {
      if (pair) {
        await pair.real.stop();
        await pair.bare.stop();
      }
      removeDir(work);
    }
  },
};
