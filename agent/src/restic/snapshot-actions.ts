import { RESERVED_TAG_PREFIX, type TagSpec } from "../../../protocol/index.ts";
import { type GlobalFlags, hostScope, type SnapshotAction, snapshotLookupArgv, snapshotsArgv } from "./argv.ts";
import { cancelled, failed, type Outcome, resticFailed } from "./outcome.ts";
import { parseJsonLine, type ResticSnapshot, ResticSnapshotList } from "./restic-json.ts";
import { judgeSnapshotOwner } from "./restore-source.ts";
import type { ProcessResult } from "./run-process.ts";
import type { StepOutput } from "./step-output.ts";

/**
 * Forget by id or re-tag one snapshot: both write the repository (an exclusive lock for forget,
 * tag) and take ids, for which restic ignores --host (measured on 0.14 and 0.18: "Ignoring
 * filters as there are explicit snapshot ids given", and another host's snapshot is forgotten or
 * re-tagged). So every id is looked up first and must be one of `hosts`' snapshots.
 */
export interface SnapshotActionDeps {
  capture: (args: string[]) => Promise<{ result: ProcessResult; out: StepOutput; lines: string[] }>;
  restic: (args: string[], out: StepOutput) => Promise<ProcessResult>;
  output: () => StepOutput;
  log: (text: string) => void;
  cancelRequested: () => boolean;
  globals: GlobalFlags;
}

const lockFlags = (g: GlobalFlags) => [
  "--json",
  ...(g.features.retryLock && g.retryLock ? [`--retry-lock=${g.retryLock}`] : []),
];

/** `forget` of the checked full ids; --host too, though restic ignores it for ids (see above). */
export function forgetIdsArgv(fullIds: readonly string[], g: GlobalFlags): string[] {
  return ["forget", ...lockFlags(g), ...hostScope(g.host), "--", ...fullIds];
}

/**
 * `tag` of one checked full id. `--set` keeps the snapshot's own `fleet-*` tags (the system's
 * marks: the spec cannot name them, protocol/checks.ts tagChangeProblem). An empty set is
 * `--set=`, which restic reads as "no tags".
 */
export function tagArgv(spec: TagSpec, fullId: string, current: readonly string[], g: GlobalFlags): string[] {
  const flags: string[] = [];
  if (spec.set !== undefined) {
    const keep = current.filter((t) => t.startsWith(RESERVED_TAG_PREFIX));
    const set = [...new Set([...keep, ...spec.set])];
    flags.push(...(set.length ? set.map((t) => `--set=${t}`) : ["--set="]));
  } else {
    flags.push(...(spec.add ?? []).map((t) => `--add=${t}`), ...(spec.remove ?? []).map((t) => `--remove=${t}`));
  }
  return ["tag", ...lockFlags(g), ...hostScope(g.host), ...flags, "--", fullId];
}

/** The snapshot that replaced `old` after a tag: same first original, another id (0.14 and 0.18). */
export function successorOf(old: ResticSnapshot, now: readonly ResticSnapshot[]): ResticSnapshot | undefined {
  const first = (s: ResticSnapshot) => s.original ?? s.id;
  return now.find((s) => s.id !== old.id && first(s) === first(old) && s.time === old.time);
}

export async function runSnapshotAction(a: SnapshotAction, d: SnapshotActionDeps): Promise<Outcome> {
  const looked = await d.capture(snapshotLookupArgv(...a.ids));
  if (d.cancelRequested()) return cancelled(looked.result.exitCode, "while looking up the snapshots");
  if (!looked.result.started) return failed(-1, `could not start restic: ${looked.result.error}`);
  const found = parseJsonLine(looked.lines, ResticSnapshotList) ?? [];
  // 0.14 exits 0 for an unknown id; 0.18 exits 1. Either way an id not in the list is missing.
  if (looked.result.exitCode !== 0 && found.length === 0 && !/no matching ID/i.test(looked.out.stderrTail.join("\n"))) {
    return resticFailed(looked.result.exitCode, looked.out);
  }
  const snapshots: ResticSnapshot[] = [];
  for (const id of a.ids) {
    const snapshot = found.find((s) => s.id.startsWith(id));
    const owner = judgeSnapshotOwner(snapshot, { snapshotId: id, hosts: a.hosts }, a.action);
    if (typeof owner !== "string") return owner;
    if (snapshot) snapshots.push(snapshot);
  }
  const fullIds = snapshots.map((s) => s.id);
  const first = snapshots[0];
  let args: string[];
  if (a.action === "forget") args = forgetIdsArgv(fullIds, d.globals);
  else if (a.tag && first && snapshots.length === 1) args = tagArgv(a.tag, first.id, first.tags ?? [], d.globals);
  else return failed(-1, "a tag job names one snapshot and its change");
  const out = d.output();
  const result = await d.restic(args, out);
  if (d.cancelRequested()) return cancelled(result.exitCode, `while restic ${a.action} ran`);
  if (!result.started) return failed(-1, `could not start restic: ${result.error}`);
  if (result.exitCode !== 0) return resticFailed(result.exitCode, out);
  if (a.action === "forget") {
    d.log(`forgot ${fullIds.length} snapshot(s); their data stays in the repository until the next prune`);
    return { status: "succeeded", exitCode: 0, stats: { snapshots_removed: fullIds.length, forgotten_ids: fullIds } };
  }
  if (!first) return failed(-1, "the snapshot to tag was not found");
  // restic tag writes a new snapshot (new id) and removes the old one: find the new id.
  const after = await d.capture(snapshotsArgv(d.globals.host));
  const list = after.result.exitCode === 0 ? (parseJsonLine(after.lines, ResticSnapshotList) ?? []) : [];
  const next = successorOf(first, list);
  const unchanged = list.some((s) => s.id === first.id);
  const newId = next?.id ?? (unchanged ? first.id : null);
  if (!newId) d.log("the tagged snapshot's new id could not be found in the snapshot list");
  else
    d.log(
      newId === first.id
        ? "the tags were already so: the snapshot is unchanged"
        : `snapshot ${first.short_id ?? first.id} is now ${newId.slice(0, 8)}`,
    );
  return {
    status: "succeeded",
    exitCode: 0,
    stats: {
      previous_snapshot_id: first.id,
      ...(newId ? { snapshot_id: newId } : {}),
      tags: (next ?? list.find((s) => s.id === first.id))?.tags ?? [],
    },
  };
}
