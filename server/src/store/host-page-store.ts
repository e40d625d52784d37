import type { HostCounts, HostPageFilter, HostPageRow, HostPageStore } from "../domain/host-page-rows.ts";
import type { Database } from "./db.ts";
import { healthRankSql } from "./host-health-sql.ts";
import { type Row, split, summaryColumns, summaryFrom } from "./host-summary-store.ts";

type Params = Record<string, string | number | null>;

/**
 * Each sort's key columns, in order, and its direction. The id breaks ties, so a cursor is one
 * position; name and the health rank ascend (failed first), the times descend (newest first, never
 * first). Each but health seeks an index (hosts_by_name, hosts_by_last_backup, hosts_by_last_seen).
 */
type RankedRow = Row & { health_rank: number };
const SORTS: Record<
  HostPageFilter["sort"],
  { keys: string[]; desc: boolean; of: (r: RankedRow) => Array<string | number> }
> = {
  name: { keys: ["h.name", "h.id"], desc: false, of: (r) => [r.name, r.id] },
  last_backup: {
    keys: ["coalesce(h.last_backup_finished_at, '')", "h.id"],
    desc: true,
    of: (r) => [r.last_backup_finished_at ?? "", r.id],
  },
  last_seen: { keys: ["coalesce(h.last_seen_at, '')", "h.id"], desc: true, of: (r) => [r.last_seen_at ?? "", r.id] },
  health: { keys: [healthRankSql, "h.name", "h.id"], desc: false, of: (r) => [r.health_rank, r.name, r.id] },
};

/**
 * A label carried by at most this many hosts is read from host_labels and those hosts sorted; one
 * carried by more is checked host by host while the page walks its sort's index from the cursor
 * (a label on 10,000 of 50,000 hosts: 5 index entries per host of the page, not 10,000 sorted).
 */
const SORT_LABEL_HOSTS = 2000;

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
    if (pairs.length === 0 || f.sort === "health") return new Set();
    const counts = pairs.map(([k, v]) => carrying.get(k, v)?.n ?? 0);
    const rarest = counts.indexOf(Math.min(...counts));
    const seek = new Set(pairs.map((_, i) => i));
    if ((counts[rarest] ?? 0) <= SORT_LABEL_HOSTS) seek.delete(rarest);
    return seek;
  }
  return {
    /**
     * One page of hosts in the filter's order, from the position after `after` (the last row's
     * keys), at most `limit` rows: a deep page seeks its index as the first one does.
     */
    hostPage(f: HostPageFilter): HostPageRow[] {
      const params: Params = { now_ms: f.nowMs };
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
      const sql = `SELECT ${summaryColumns}, ${healthRankSql} AS health_rank ${summaryFrom}
        ${terms.length > 0 ? `WHERE ${terms.join(" AND ")}` : ""}
        ORDER BY ${sort.keys.map((k) => `${k}${dir}`).join(", ")} LIMIT $limit`;
      return db
        .query<RankedRow, Params>(sql)
        .all(params)
        .map((r) => ({ ...split(r), keys: sort.of(r) }));
    },

    /** The dashboard's counters over the hosts the labels select, in two aggregate statements. */
    hostCounts(f: Pick<HostPageFilter, "labels" | "nowMs">): HostCounts {
      const params: Params = { now_ms: f.nowMs };
      const terms = where({ labels: f.labels, nowMs: f.nowMs }, params);
      const filter = terms.length > 0 ? `WHERE ${terms.join(" AND ")}` : "";
      const byRank = db
        .query<{ rank: number; n: number; online: number }, Params>(
          `SELECT ${healthRankSql} AS rank, count(*) AS n, sum(h.online) AS online FROM hosts h ${filter} GROUP BY rank`,
        )
        .all(params);
      const labelSql = terms.length
        ? `SELECT l.key, l.value, count(*) AS n FROM host_labels l
             WHERE l.host_id IN (SELECT h.id FROM hosts h ${filter}) GROUP BY l.key, l.value ORDER BY l.key, l.value`
        : "SELECT key, value, count(*) AS n FROM host_labels GROUP BY key, value ORDER BY key, value";
      const labels = db
        .query<{ key: string; value: string; n: number }, Params>(labelSql)
        .all(terms.length ? params : {});
      return { byRank: byRank.map((r) => ({ rank: r.rank, hosts: r.n, online: r.online })), labels };
    },

    /**
     * Writes the domain's expected intervals (host id → seconds; absent: none) where they differ
     * from the stored ones, in one transaction: after a schedule change, the rows it moved.
     */
    syncExpectedIntervals(intervals: ReadonlyMap<string, number>): number {
      const set = db.query<unknown, Params>("UPDATE hosts SET expected_interval_s = $s WHERE id = $id");
      let changed = 0;
      db.transaction(() => {
        const stored = db
          .query<{ id: string; s: number | null }, []>("SELECT id, expected_interval_s AS s FROM hosts")
          .all();
        for (const { id, s } of stored) {
          const want = intervals.get(id) ?? null;
          if (want !== s) {
            set.run({ id, s: want });
            changed++;
          }
        }
      })();
      return changed;
    },
  };
}
