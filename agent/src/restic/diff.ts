import * as v from "valibot";
import {
  type DiffChange,
  type DiffStats,
  MAX_DIFF_CHANGES,
  MAX_FRAME_BYTES,
  type SnapshotsDiffedPayload,
} from "../../../protocol/index.ts";
import { snapshotLookupArgv } from "./argv.ts";
import { type LiveResult, type LiveRun, refuse, stoppable } from "./live-run.ts";
import { parseJsonLine, ResticSnapshotList } from "./restic-json.ts";
import { ResticStderr } from "./restic-stderr.ts";
import { judgeSnapshotOwner } from "./restore-source.ts";

/** The JSON bytes one answer's changes may take: the frame limit less room for the envelope. */
export const DIFF_BUDGET_BYTES = MAX_FRAME_BYTES - 64 * 1024;

/**
 * Two snapshots compared, read-only: `restic diff --json` (0.14 and 0.18 print the same lines:
 * `{"message_type":"change","path","modifier"}` per path, then one `statistics`), given the full
 * ids. restic ignores --host for ids, so `diff` never gets one.
 */
export function diffArgv(fromFull: string, toFull: string): string[] {
  return ["diff", "--json", "--no-lock", "--", fromFull, toFull];
}

const ChangeLine = v.looseObject({ message_type: v.literal("change"), path: v.string(), modifier: v.string() });
const Side = v.looseObject({ files: v.number(), dirs: v.number(), others: v.number(), bytes: v.number() });
const StatsLine = v.looseObject({
  message_type: v.literal("statistics"),
  changed_files: v.number(),
  added: Side,
  removed: Side,
});

/** One line of `diff --json`, or null for anything else (an unknown line is never fatal). */
export function parseDiffLine(line: string): { change: DiffChange } | { stats: DiffStats } | null {
  const t = line.trim();
  if (!t.startsWith("{")) return null;
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch {
    return null;
  }
  const change = v.safeParse(ChangeLine, value);
  if (change.success) {
    const { path, modifier } = change.output;
    // restic marks a directory with a trailing slash: `/srv/www/new/`.
    const dir = path.length > 1 && path.endsWith("/");
    const kind = modifier === "+" ? "added" : modifier === "-" ? "removed" : "modified";
    return {
      change: {
        path: dir ? path.slice(0, -1) : path,
        type: dir ? "dir" : "file",
        change: kind,
        modifier: modifier.slice(0, 8),
      },
    };
  }
  const stats = v.safeParse(StatsLine, value);
  if (!stats.success) return null;
  const side = (s: v.InferOutput<typeof Side>) => ({
    files: count(s.files),
    dirs: count(s.dirs),
    others: count(s.others),
    bytes: count(s.bytes),
  });
  return {
    stats: {
      changed_files: count(stats.output.changed_files),
      added: side(stats.output.added),
      removed: side(stats.output.removed),
    },
  };
}

const count = (n: number) => (Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);

/**
 * Looks both snapshots up (`snapshots --json <from> <to>`) and checks they are this host's, then
 * diffs them by full id, keeping the first `limit` changes (and the byte budget) and counting the
 * rest as restic prints them.
 */
export async function diffSnapshots(
  run: LiveRun,
  want: { from: string; to: string; limit?: number | undefined },
  budget = DIFF_BUDGET_BYTES,
): Promise<LiveResult<Omit<SnapshotsDiffedPayload, "request_id">>> {
  const lookup = await lookupOwn(run, [want.from, want.to]);
  if (!lookup.ok) return lookup;
  const [from, to] = lookup.value as [string, string];
  const limit = Math.min(want.limit ?? MAX_DIFF_CHANGES, MAX_DIFF_CHANGES);
  const changes: DiffChange[] = [];
  let total = 0;
  let bytes = 0;
  let full = false;
  let stats: DiffStats | undefined;
  const stderr = new ResticStderr(run.redact);
  const { control, dispose } = stoppable(run);
  const result = await run.session
    .run(diffArgv(from, to), {
      onStdout: (line) => {
        const parsed = parseDiffLine(line);
        if (!parsed) return;
        if ("stats" in parsed) {
          stats = parsed.stats;
          return;
        }
        total++;
        if (full || changes.length >= limit) return;
        const size = JSON.stringify(parsed.change).length + 1;
        if (bytes + size > budget) {
          full = true;
          return;
        }
        bytes += size;
        changes.push(parsed.change);
      },
      onStderr: stderr.push,
      onSpawn: (child) => control.attach(child),
    })
    .finally(dispose);
  if (run.signal.aborted) return refuse("cancelled", "the request was cancelled");
  if (!result.started) return refuse("failed", `could not start restic: ${run.redact(result.error)}`);
  if (result.exitCode !== 0) return refuse("failed", stderr.failure(result.exitCode).error);
  return { ok: true, value: { from, to, changes, total, ...(stats ? { stats } : {}) } };
}

/**
 * The full ids of these snapshots, each checked to exist and to be one of run.scope.hosts'. The
 * same rule the restore by id follows (restore-source.ts), for ids restic would take whatever
 * their host.
 */
export async function lookupOwn(run: LiveRun, ids: string[]): Promise<LiveResult<string[]>> {
  const stdout: string[] = [];
  const stderr = new ResticStderr(run.redact);
  const result = await run.session.run(snapshotLookupArgv(...ids), {
    onStdout: (l) => stdout.push(l),
    onStderr: stderr.push,
  });
  if (run.signal.aborted) return refuse("cancelled", "the request was cancelled");
  if (!result.started) return refuse("failed", `could not start restic: ${run.redact(result.error)}`);
  // 0.14 exits 0 for an unknown id ("Ignoring ..."); 0.18 exits 1 with "no matching ID found".
  const failure = result.exitCode === 0 ? null : stderr.failure(result.exitCode);
  if (failure && failure.reason !== "snapshot_missing") return refuse("failed", failure.error);
  const found = parseJsonLine(stdout, ResticSnapshotList) ?? [];
  const full: string[] = [];
  for (const id of ids) {
    const snapshot = found.find((s) => s.id.startsWith(id));
    const owner = judgeSnapshotOwner(snapshot, { snapshotId: id, hosts: run.scope.hosts }, "compare");
    if (typeof owner !== "string") {
      return refuse(owner.reason === "snapshot_missing" ? "snapshot_missing" : "other_host", owner.error ?? "");
    }
    full.push(owner);
  }
  return { ok: true, value: full };
}
