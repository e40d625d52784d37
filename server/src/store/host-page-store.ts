import { BACKUP_HEALTH_STATES } from "../domain/backup-health.ts";
import type { HostCounts, HostPageFilter, HostPageRow, HostPageStore } from "../domain/host-page-rows.ts";
import type { Database } from "./db.ts";
import { healthRankSql, rankOf, STALE, staleSql } from "./host-health-sql.ts";
import { type Row, split, summaryColumns, summaryFrom } from "./host-summary-store.ts";

type Params = Record<string, string | number | null>;

/**
 * Each index-ordered sort's key columns, in order, and its direction. The id breaks ties, so a
 * cursor is one position; name ascends, the times descend (newest first, never first). Each seeks
 * an index (hosts_by_name, hosts_by_last_backup, hosts_by_last_seen). Health is read one state at
 * a time (healthPage), its keys [rank, name, id].
 */
const SORTS: Record<
  Exclude<HostPageFilter["sort"], "health">,
  { keys: string[]; desc: boolean; of: (r: Row) => Array<string | number> }
> = {
  name: { keys: ["h.name", "h.id"], desc: false, of: (r) => [r.name, r.id] },
  last_backup: {
    keys: ["coalesce(h.last_backup_finished_at, '')", "h.id"],
    desc: true,
    of: (r) => [r.last_backup_finished_at ?? "", r.id],
  },
  last_seen: { keys: ["coalesce(h.last_seen_at, '')", "h.id"], desc: true, of: (r) => [r.last_seen_at ?? "", r.id] },
};

/**
 * A label carried by at most this many hosts is read from host_labels and those hosts sorted; one
 * carried by more is checked host by host while the page walks its sort's index from the cursor
 * (a label on 10,000 of 50,000 hosts: 5 index entries per host of the page, not 10,000 sorted).
 */
const SORT_LABEL_HOSTS = 500;

/**
 * What every filter and the summary share: the hosts the labels, health, online and name select.
 * `seek`: the labels given as `EXISTS` per host instead of `IN` (see SORT_LABEL_HOSTS).
 */
function where(
  f: Omit<HostPageFilter, "sort" | "after" | "limit">,
  params: Params,
  seek: Set<number> = new Set(),
): string[] {
  const terms: string[] = [];
  Object.entries(f.labels ?? {}).forEach(([key, value], i) => {
    params[`lk${i}`] = key;
    params[`lv${i}`] = value;
    terms.push(
      seek.has(i)
        ? `EXISTS (SELECT 1 FROM host_labels l WHERE l.host_id = h.id AND l.key = $lk${i} AND l.value = $lv${i})`
        : `h.id IN (SELECT l.host_id FROM host_labels l WHERE l.key = $lk${i} AND l.value = $lv${i})`,
    );
  });
  (f.withoutLabels ?? []).forEach((key, i) => {
    params[`wk${i}`] = key;
    terms.push(`NOT EXISTS (SELECT 1 FROM host_labels l WHERE l.host_id = h.id AND l.key = $wk${i})`);
  });
  if (f.drill) terms.push(f.drill === "never" ? "h.last_drill_result IS NULL" : `h.last_drill_result = '${f.drill}'`);
  if (f.healthRanks && f.healthRanks.length > 0)
    terms.push(`${healthRankSql} IN (${f.healthRanks.map(Number).join(", ")})`);
  if (f.online !== undefined) terms.push(`h.online = ${f.online ? 1 : 0}`);
  if (f.nameContains) {
    params.name_like = `%${f.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    terms.push(`h.name LIKE $name_like ESCAPE '\\'`);
  }
  return terms;
}

export function hostPageStore(db: Database): HostPageStore {
  const carrying = db.query<{ n: number }, [string, string]>(
    "SELECT count(*) AS n FROM host_labels WHERE key = ? AND value = ?",
  );
  /**
   * Which labels a page checks per host: all of them, unless one is rare enough to read its hosts
   * and sort them (the rarest then; the rest are checked per host).
   */
  function seekLabels(f: HostPageFilter): Set<number> {
    const pairs = Object.entries(f.labels ?? {});
    if (pairs.length === 0) return new Set();
    const counts = pairs.map(([k, v]) => carrying.get(k, v)?.n ?? 0);
    const rarest = counts.indexOf(Math.min(...counts));
    const seek = new Set(pairs.map((_, i) => i));
    if ((counts[rarest] ?? 0) <= SORT_LABEL_HOSTS) seek.delete(rarest);
    return seek;
  }
  /**
   * The whole fleet's counters as range counts of hosts_health_counts, one per state and presence
   * (and per state that can turn stale, the ones past their time), in one statement: counting a
   * range steps its index entries, far cheaper than grouping every host (50,000 hosts, 30,000 of
   * them stale: 1.5 ms for the stale ones against 6 ms grouped).
   */
  const lateable = [rankOf("warning"), rankOf("pending"), rankOf("ok")];
  const groups = BACKUP_HEALTH_STATES.flatMap((_, rank) =>
    [0, 1].map((online) => ({ rank, online, late: lateable.includes(rank) })),
  );
  const countsSql = `SELECT ${groups
    .map(
      (g, i) =>
        `(SELECT count(*) FROM hosts h INDEXED BY hosts_health_counts WHERE h.health_base = ${g.rank} AND h.online = ${g.online}) AS n${i}` +
        (g.late
          ? `, (SELECT count(*) FROM hosts h INDEXED BY hosts_health_counts
               WHERE h.health_base = ${g.rank} AND h.online = ${g.online} AND ${staleSql}) AS late${i}`
          : ""),
    )
    .join(", ")}`;
  const fleetCountsQuery = db.query<Record<string, number>, { now_ms: number }>(countsSql);
  function fleetCounts(nowMs: number): HostCounts["byRank"] {
    const row = fleetCountsQuery.get({ now_ms: nowMs }) ?? {};
    const byRank = BACKUP_HEALTH_STATES.map((_, rank) => ({ rank, hosts: 0, online: 0 }));
    groups.forEach((g, i) => {
      const late = row[`late${i}`] ?? 0;
      const n = row[`n${i}`] ?? 0;
      const [own, stale] = [byRank[g.rank], byRank[STALE]];
      if (!own || !stale) return;
      own.hosts += n - late;
      own.online += g.online ? n - late : 0;
      stale.hosts += late;
      stale.online += g.online ? late : 0;
    });
    return byRank.filter((r) => r.hosts > 0);
  }
  const labelCounts = db.query<{ key: string; value: string; n: number }, []>(
    "SELECT key, value, hosts AS n FROM host_label_counts ORDER BY key, value",
  );

  /**
   * Whether so many hosts are stale that their first page is cheaper found by walking each state's
   * hosts by name (staleByWalk) than by reading every stale host and sorting them (50,000 stale:
   * the sort alone took ~50 ms). Counted up to STALE_SORT_HOSTS only.
   */
  const STALE_SORT_HOSTS = 2000;
  const summaryFromIndex = (index: string) => summaryFrom.replace("FROM hosts h", `FROM hosts h INDEXED BY ${index}`);
  const staleCount = db.query<{ n: number }, { now_ms: number }>(
    `SELECT count(*) AS n FROM (SELECT 1 FROM hosts h INDEXED BY hosts_by_stale_after WHERE ${staleSql} LIMIT ${STALE_SORT_HOSTS})`,
  );
  const manyStale = (nowMs: number) => (staleCount.get({ now_ms: nowMs })?.n ?? 0) >= STALE_SORT_HOSTS;
  /**
   * The stale hosts' page as the first `$limit` stale hosts by name of each state that can turn
   * stale, each walked in name order on hosts_by_health (so each stops at its limit), merged.
   */
  const staleByWalk = (terms: string[]) =>
    `SELECT * FROM (${lateable
      .map(
        (base) => `SELECT * FROM (SELECT ${summaryColumns} ${summaryFromIndex("hosts_by_health")}
          WHERE h.health_base = ${base} AND ${terms.join(" AND ")} ORDER BY h.name, h.id LIMIT $limit)`,
      )
      .join(" UNION ALL ")}) ORDER BY name, id LIMIT $limit`;

  /**
   * A page worst first: state by state from the cursor's, each by name from an index range
   * (hosts_by_health, hosts_by_stale_after), at most one statement per state, until the page is full.
   */
  function healthPage(f: HostPageFilter): HostPageRow[] {
    if (f.after && f.after.length !== 3) throw new Error("cursor keys do not match the sort");
    const [afterRank, afterName, afterId] = f.after ?? [];
    const rows: HostPageRow[] = [];
    for (let rank = 0; rank < BACKUP_HEALTH_STATES.length && rows.length < f.limit; rank++) {
      if (afterRank !== undefined && rank < Number(afterRank)) continue;
      if (f.healthRanks && f.healthRanks.length > 0 && !f.healthRanks.includes(rank)) continue;
      const params: Params = { now_ms: f.nowMs, limit: f.limit - rows.length };
      const terms = where({ ...f, healthRanks: undefined }, params, seekLabels(f));
      terms.push(rank === STALE ? staleSql : `h.health_base = ${rank} AND NOT coalesce(${staleSql}, 0)`);
      if (afterRank !== undefined && rank === Number(afterRank)) {
        params.k1 = afterName ?? "";
        params.k2 = afterId ?? "";
        terms.push("(h.name, h.id) > ($k1, $k2)");
      }
      // Fewer than STALE_SORT_HOSTS stale: read them from their index range and sort them. Left to
      // itself the planner walks hosts_by_name to skip the sort and tests every host, computing its
      // stale_after_ms on the way (50,000 hosts, none stale: 64 ms for an empty answer).
      const from = rank === STALE ? summaryFromIndex("hosts_by_stale_after") : summaryFrom;
      const sql =
        rank === STALE && manyStale(f.nowMs)
          ? staleByWalk(terms)
          : `SELECT ${summaryColumns} ${from} WHERE ${terms.join(" AND ")} ORDER BY h.name, h.id LIMIT $limit`;
      for (const r of db.query<Row, Params>(sql).all(params)) rows.push({ ...split(r), keys: [rank, r.name, r.id] });
    }
    return rows;
  }

  return {
    /**
     * One page of hosts in the filter's order, from the position after `after` (the last row's
     * keys), at most `limit` rows: a deep page seeks its index as the first one does.
     */
    hostPage(f: HostPageFilter): HostPageRow[] {
      if (f.sort === "health") return healthPage(f);
      // $now_ms only where a health filter reads it (healthRankSql).
      const params: Params = f.healthRanks?.length ? { now_ms: f.nowMs } : {};
      const terms = where(f, params, seekLabels(f));
      const sort = SORTS[f.sort];
      if (f.after) {
        if (f.after.length !== sort.keys.length) throw new Error("cursor keys do not match the sort");
        f.after.forEach((k, i) => {
          params[`k${i}`] = k;
        });
        const at = f.after.map((_, i) => `$k${i}`).join(", ");
        terms.push(`(${sort.keys.join(", ")}) ${sort.desc ? "<" : ">"} (${at})`);
      }
      params.limit = f.limit;
      const dir = sort.desc ? " DESC" : "";
      const sql = `SELECT ${summaryColumns} ${summaryFrom}
        ${terms.length > 0 ? `WHERE ${terms.join(" AND ")}` : ""}
        ORDER BY ${sort.keys.map((k) => `${k}${dir}`).join(", ")} LIMIT $limit`;
      return db
        .query<Row, Params>(sql)
        .all(params)
        .map((r) => ({ ...split(r), keys: sort.of(r) }));
    },

    /**
     * The dashboard's counters over the hosts the labels select: the whole fleet's from range
     * counts and host_label_counts (fleetCounts); under a filter, each state's selected hosts and
     * the ones past their time (which move to stale) from hosts_health_by_id, and the selected
     * hosts' label values.
     */
    hostCounts(f: Pick<HostPageFilter, "labels" | "withoutLabels" | "nowMs">): HostCounts {
      const params: Params = {};
      const terms = where({ labels: f.labels, withoutLabels: f.withoutLabels, nowMs: f.nowMs }, params);
      if (terms.length === 0) return { byRank: fleetCounts(f.nowMs), labels: labelCounts.all() };
      // Each state's selected hosts, and how many of them are past their time (they count as stale),
      // in one pass over the selected hosts' entries of hosts_health_by_id (migration 30).
      type Count = { rank: number; n: number; online: number; late: number; late_online: number };
      const counts = db
        .query<Count, Params>(
          `SELECT h.health_base AS rank, count(*) AS n, sum(h.online) AS online,
              coalesce(sum(${staleSql}), 0) AS late, coalesce(sum(h.online AND ${staleSql}), 0) AS late_online
            FROM hosts h INDEXED BY hosts_health_by_id WHERE ${terms.join(" AND ")} GROUP BY h.health_base`,
        )
        .all({ ...params, now_ms: f.nowMs });
      const byRank = new Map<number, { rank: number; hosts: number; online: number }>();
      const add = (rank: number, n: number, online: number) => {
        const r = byRank.get(rank) ?? { rank, hosts: 0, online: 0 };
        r.hosts += n;
        r.online += online;
        byRank.set(rank, r);
      };
      for (const r of counts) {
        add(r.rank, r.n - r.late, r.online - r.late_online);
        add(STALE, r.late, r.late_online);
      }
      const labels = db
        .query<{ key: string; value: string; n: number }, Params>(
          `SELECT l.key, l.value, count(*) AS n FROM host_labels l
            WHERE l.host_id IN (SELECT h.id FROM hosts h INDEXED BY hosts_health_by_id WHERE ${terms.join(" AND ")})
            GROUP BY l.key, l.value ORDER BY l.key, l.value`,
        )
        .all(params);
      return { byRank: [...byRank.values()].filter((r) => r.hosts > 0), labels };
    },

    /**
     * Writes the domain's expected intervals (host id → seconds; absent: none) where they differ
     * from the ones stored, in one transaction: from `previous` (what the last call wrote) when
     * given, so a schedule change costs the rows it moved, else from every host's row (start-up).
     */
    syncExpectedIntervals(intervals: ReadonlyMap<string, number>, previous?: ReadonlyMap<string, number>): number {
      const set = db.query<unknown, Params>("UPDATE hosts SET expected_interval_s = $s WHERE id = $id");
      let changed = 0;
      const write = (id: string, had: number | null) => {
        const want = intervals.get(id) ?? null;
        if (want !== had) {
          set.run({ id, s: want });
          changed++;
        }
      };
      db.transaction(() => {
        if (previous) {
          for (const [id, s] of previous) write(id, s);
          for (const id of intervals.keys()) if (!previous.has(id)) write(id, null);
          return;
        }
        const stored = db
          .query<{ id: string; s: number | null }, []>("SELECT id, expected_interval_s AS s FROM hosts")
          .all();
        for (const { id, s } of stored) write(id, s);
      })();
      return changed;
    },
  };
}
