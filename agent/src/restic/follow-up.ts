import * as v from "valibot";
import { type RepoStatsPayload, Snapshot } from "../../../protocol/index.ts";
import { snapshotsArgv } from "./argv.ts";
import { parseJsonLine, type ResticSnapshot, ResticSnapshotList, ResticStats } from "./restic-json.ts";

/**
 * The reports sent after a job: the snapshot list (snapshots.report) and the repository health
 * (repo.stats). They run restic read-only with --no-lock: they only inform, so they must neither
 * wait for nor block a lock. Their failures are returned as text for the job log; they never
 * change the job's status.
 */

/**
 * A report command that failed: the error text, and whether restic said the repository is not
 * there (classify.ts repositoryPresence: exit 10, or the backends' own not-found texts on 0.14).
 */
export type CaptureFailure = { ok: false; error: string; repoMissing?: boolean };

/** Runs restic with these arguments and returns its stdout lines, or an error text. */
export type Capture = (args: string[]) => Promise<{ ok: true; stdout: string[] } | CaptureFailure>;

export interface SnapshotSize {
  size_bytes: number;
  file_count: number;
}

/**
 * restic 0.14 snapshots carry no summary, so the agent remembers the size of the snapshots it made,
 * keyed by short id. Bounded: the oldest entries go first.
 */
export class SnapshotSizes {
  #map = new Map<string, SnapshotSize>();
  constructor(readonly limit = 10_000) {}

  remember(snapshotId: string, size: SnapshotSize): void {
    const key = snapshotId.slice(0, 8);
    this.#map.delete(key);
    this.#map.set(key, size);
    while (this.#map.size > this.limit) {
      const oldest = this.#map.keys().next().value;
      if (oldest === undefined) break;
      this.#map.delete(oldest);
    }
  }

  get(id: string): SnapshotSize | undefined {
    return this.#map.get(id.slice(0, 8));
  }
}

/** Maps restic's snapshot objects to the protocol's shape; invalid ones are counted, not sent. */
export function toSnapshots(list: ResticSnapshot[], sizes: SnapshotSizes): { snapshots: Snapshot[]; skipped: number } {
  const snapshots: Snapshot[] = [];
  let skipped = 0;
  for (const s of list) {
    const candidate: Record<string, unknown> = {
      id: s.id,
      short_id: s.short_id ?? s.id.slice(0, 8),
      time: s.time,
      hostname: s.hostname ?? "",
      paths: s.paths ?? [],
    };
    if (s.tags && s.tags.length > 0) candidate.tags = s.tags;
    const fromSummary = s.summary?.total_bytes_processed;
    const remembered = sizes.get(s.id);
    if (fromSummary !== undefined) {
      candidate.size_bytes = Math.floor(fromSummary);
      if (s.summary?.total_files_processed !== undefined)
        candidate.file_count = Math.floor(s.summary.total_files_processed);
    } else if (remembered) {
      candidate.size_bytes = remembered.size_bytes;
      candidate.file_count = remembered.file_count;
    }
    const parsed = v.safeParse(Snapshot, candidate);
    if (parsed.success) snapshots.push(parsed.output);
    else skipped += 1;
  }
  return { snapshots, skipped };
}

/** `restic snapshots --json --host=<host>`, mapped: the host's own snapshots only, in a shared repository too. */
export async function collectSnapshots(
  capture: Capture,
  sizes: SnapshotSizes,
  host: string,
): Promise<{ ok: true; snapshots: Snapshot[]; skipped: number } | CaptureFailure> {
  const out = await capture(snapshotsArgv(host));
  if (!out.ok) return out;
  const list = parseJsonLine(out.stdout, ResticSnapshotList);
  if (!list) return { ok: false, error: "restic snapshots --json printed no snapshot list" };
  return { ok: true, ...toSnapshots(list, sizes) };
}

export interface LastCheck {
  at: string;
  status: "ok" | "failed";
}

/** raw-data size, restore size (for the dedup ratio), snapshot count and the lock state. */
export async function collectRepoStats(
  capture: Capture,
  lastCheck: LastCheck | null,
): Promise<{ ok: true; stats: RepoStatsPayload } | CaptureFailure> {
  const raw = await capture(["stats", "--json", "--no-lock", "--mode=raw-data"]);
  if (!raw.ok) return raw;
  const rawStats = parseJsonLine(raw.stdout, ResticStats);
  if (!rawStats) return { ok: false, error: "restic stats --mode=raw-data printed no JSON" };
  const restore = await capture(["stats", "--json", "--no-lock"]);
  if (!restore.ok) return restore;
  const restoreStats = parseJsonLine(restore.stdout, ResticStats);
  if (!restoreStats) return { ok: false, error: "restic stats printed no JSON" };
  const locks = await capture(["list", "locks", "--no-lock"]);
  if (!locks.ok) return locks;
  const size = Math.max(0, Math.floor(rawStats.total_size));
  const stats: RepoStatsPayload = {
    size_bytes: size,
    snapshot_count: Math.max(0, Math.floor(restoreStats.snapshots_count ?? rawStats.snapshots_count ?? 0)),
    // Bytes a full restore of every snapshot would write, per byte stored.
    dedup_ratio: size > 0 ? Math.max(0, restoreStats.total_size) / size : 0,
    lock_state: locks.stdout.some((l) => /^[0-9a-f]{64}$/.test(l.trim())) ? "locked" : "unlocked",
  };
  if (lastCheck) {
    stats.last_check_at = lastCheck.at;
    stats.last_check_status = lastCheck.status;
  }
  return { ok: true, stats };
}
