import * as v from "valibot";
import { READ_DATA_SUBSET, SNAPSHOT_HEX_ID, SNAPSHOT_ID } from "../checks.ts";
import {
  Count,
  envelope,
  Hook,
  Id,
  ResticHost,
  RetentionPolicy,
  StdinCommand,
  StdinFilename,
  StringList,
  Timestamp,
} from "../common.ts";

export const BackupSpec = v.object({
  paths: v.optional(StringList),
  excludes: v.optional(StringList),
  tags: v.optional(StringList),
  pre_hook: v.optional(Hook),
  post_hook: v.optional(Hook),
  /**
   * Since protocol 9: back up this command's output instead of paths (then no paths and no
   * excludes), stored in the snapshot as `stdin_filename` (absent: `stdin`, restic's default).
   * On restic >= 0.17 restic runs it (`--stdin-from-command`); on older restic the agent pipes
   * its output into `backup --stdin`. A failing command fails the job and leaves no snapshot.
   */
  stdin_command: v.optional(StdinCommand),
  stdin_filename: v.optional(StdinFilename),
});
export type BackupSpec = v.InferOutput<typeof BackupSpec>;

/** A snapshot's own id (8 to 64 hex digits), never `latest`: what forget and tag act on. */
export const SnapshotHexId = v.pipe(v.string(), v.regex(SNAPSHOT_HEX_ID, "must be a snapshot id (8-64 hex digits)"));

/** At most this many snapshots are forgotten by id in one job. */
export const MAX_FORGET_IDS = 100;

export const ForgetSpec = v.object({
  /**
   * Since protocol 8 optional: a forget by `snapshot_ids` has no policy. The server sends an
   * older agent a policy always (it never sends it snapshot_ids).
   */
  policy: v.optional(RetentionPolicy),
  prune: v.optional(v.boolean()),
  /**
   * Since protocol 8: forget exactly these snapshots of this host (then no policy). restic ignores
   * --host for explicit ids (0.14 and 0.18), so the agent looks each one up and refuses the job
   * when one is another host's.
   */
  snapshot_ids: v.optional(
    v.pipe(v.array(SnapshotHexId), v.minLength(1, "must name a snapshot"), v.maxLength(MAX_FORGET_IDS)),
  ),
});
export type ForgetSpec = v.InferOutput<typeof ForgetSpec>;

export const CheckSpec = v.object({
  // restic's forms: "10%", "1/5", "500M"
  read_data_subset: v.optional(v.pipe(v.string(), v.regex(READ_DATA_SUBSET, "must be like 10%, 1/5 or 500M"))),
});
export type CheckSpec = v.InferOutput<typeof CheckSpec>;

export const RestoreSpec = v.object({
  snapshot_id: v.pipe(v.string(), v.regex(SNAPSHOT_ID, "must be a snapshot id or latest")),
  target: v.pipe(v.string(), v.minLength(1, "must not be empty"), v.maxLength(4096)),
  include: v.optional(StringList),
  /**
   * Since protocol 2: restore another host's snapshot (its restic host name). Without it the agent
   * restores only its own snapshots: `latest` means its own latest, and an id of another host's
   * snapshot is refused.
   */
  source_host: v.optional(ResticHost),
  /**
   * Since protocol 7: whether restic reads every restored file back and compares it with the
   * snapshot (`--verify`). Absent means true; agents before 7 always verify.
   */
  verify: v.optional(v.boolean()),
});
export type RestoreSpec = v.InferOutput<typeof RestoreSpec>;

/** A size such as 100M, 2G or 500000 (bytes); K, M, G and T are powers of 1024. */
export const BYTE_SIZE = /^\d+[KMGT]?$/;

/**
 * Since protocol 7: a restore drill. It samples up to `sample_files` files (default 20, at most
 * 1000) of the snapshot (default `latest`, this host's), together at most `max_bytes` (default
 * 100M), restores them with `restore --verify` into a private temporary folder, hashes them,
 * compares each with the live file where that is unchanged, and removes the folder.
 */
export const DrillSpec = v.object({
  snapshot_id: v.optional(v.pipe(v.string(), v.regex(SNAPSHOT_ID, "must be a snapshot id or latest"))),
  sample_files: v.optional(
    v.pipe(Count, v.minValue(1, "must be at least 1"), v.maxValue(1000, "must be at most 1000")),
  ),
  max_bytes: v.optional(v.pipe(v.string(), v.regex(BYTE_SIZE, "must be a size such as 100M or 2G"))),
});
export type DrillSpec = v.InferOutput<typeof DrillSpec>;

/** Tags one `tag` job may set, add or remove (restic stores them in the snapshot). */
const TagList = v.pipe(v.array(v.pipe(v.string(), v.maxLength(255))), v.maxLength(100));

/**
 * Since protocol 8: rewrite one snapshot's tags (`restic tag`): `set` replaces them all, else
 * `add` and `remove`. restic writes a new snapshot (a new id, `original` naming the first) and
 * removes the old one; the job's stats carry `snapshot_id` (the new one) and
 * `previous_snapshot_id`. Tags starting with `fleet-` are the system's (RESERVED_TAG_PREFIX):
 * they cannot be added or removed, and `set` keeps the snapshot's own.
 */
export const TagSpec = v.object({
  snapshot_id: SnapshotHexId,
  set: v.optional(TagList),
  add: v.optional(TagList),
  remove: v.optional(TagList),
});
export type TagSpec = v.InferOutput<typeof TagSpec>;

/**
 * Since protocol 9: copy this host's snapshots (`restic copy --host`) from its repository to one of
 * its copy targets (config.update.copy_targets, by `target_id`), then apply the target's own
 * retention there (`forget --host`, and `prune` when asked). The job's stats carry `copy`: the
 * target's newest snapshot of this host and how many it holds.
 */
export const CopySpec = v.object({
  target_id: Id,
  policy: v.optional(RetentionPolicy),
  prune: v.optional(v.boolean()),
});
export type CopySpec = v.InferOutput<typeof CopySpec>;

/** No spec fields yet; an object keeps room for them. */
export const EmptySpec = v.object({});

/**
 * One variant per job kind over the given common entries, so a spec is always checked against
 * its own kind. The wire ignores fields a newer peer adds (valibot's object drops them).
 */
export function specByKind<E extends v.ObjectEntries>(entries: E) {
  return v.variant("kind", [
    v.object({ ...entries, kind: v.literal("backup"), spec: v.optional(BackupSpec) }),
    v.object({ ...entries, kind: v.literal("init"), spec: v.optional(EmptySpec) }),
    v.object({ ...entries, kind: v.literal("forget"), spec: v.optional(ForgetSpec) }),
    v.object({ ...entries, kind: v.literal("prune"), spec: v.optional(EmptySpec) }),
    v.object({ ...entries, kind: v.literal("check"), spec: v.optional(CheckSpec) }),
    v.object({ ...entries, kind: v.literal("unlock"), spec: v.optional(EmptySpec) }),
    v.object({ ...entries, kind: v.literal("restore"), spec: v.optional(RestoreSpec) }),
    v.object({ ...entries, kind: v.literal("drill"), spec: v.optional(DrillSpec) }),
    v.object({ ...entries, kind: v.literal("tag"), spec: v.optional(TagSpec) }),
    v.object({ ...entries, kind: v.literal("copy"), spec: v.optional(CopySpec) }),
  ]);
}

/**
 * The same per-kind shape for an API body, strict: a field the schema does not know (`pathz`) is
 * refused by name instead of dropped. The server passes its own restore spec (it names a source
 * host by id, where the wire names it by restic host name).
 */
export function strictSpecByKind<E extends v.ObjectEntries, R extends v.ObjectEntries>(entries: E, restore: R) {
  return v.variant("kind", [
    v.strictObject({ ...entries, kind: v.literal("backup"), spec: v.optional(v.strictObject(BackupSpec.entries)) }),
    v.strictObject({ ...entries, kind: v.literal("init"), spec: v.optional(v.strictObject(EmptySpec.entries)) }),
    v.strictObject({ ...entries, kind: v.literal("forget"), spec: v.optional(v.strictObject(ForgetSpec.entries)) }),
    v.strictObject({ ...entries, kind: v.literal("prune"), spec: v.optional(v.strictObject(EmptySpec.entries)) }),
    v.strictObject({ ...entries, kind: v.literal("check"), spec: v.optional(v.strictObject(CheckSpec.entries)) }),
    v.strictObject({ ...entries, kind: v.literal("unlock"), spec: v.optional(v.strictObject(EmptySpec.entries)) }),
    v.strictObject({ ...entries, kind: v.literal("restore"), spec: v.optional(v.strictObject(restore)) }),
    v.strictObject({ ...entries, kind: v.literal("drill"), spec: v.optional(v.strictObject(DrillSpec.entries)) }),
    v.strictObject({ ...entries, kind: v.literal("tag"), spec: v.optional(v.strictObject(TagSpec.entries)) }),
    v.strictObject({ ...entries, kind: v.literal("copy"), spec: v.optional(v.strictObject(CopySpec.entries)) }),
  ]);
}

export const CommandRunPayload = specByKind({
  job_id: Id,
  args: v.optional(StringList),
  /**
   * Since protocol 10: the schedule tick this job runs (a fire's schedule_id and scheduled_at), so
   * the agent's ledger of fires holds one job per tick whoever runs it: a command.run for a tick
   * the agent already ran on its own while the link was down is refused, not run twice.
   */
  schedule_id: v.optional(Id),
  scheduled_at: v.optional(Timestamp),
});
export type CommandRunPayload = v.InferOutput<typeof CommandRunPayload>;
/**
 * Each job kind's spec, as command.run carries it (`JobSpecs["forget"]` is a ForgetSpec): the one
 * table of which spec goes with which kind, for code that keeps a spec typed by its kind.
 */
export type JobSpecs = {
  [K in CommandRunPayload["kind"]]: NonNullable<Extract<CommandRunPayload, { kind: K }>["spec"]>;
};
export const CommandRun = envelope("command.run", CommandRunPayload);
export type CommandRun = v.InferOutput<typeof CommandRun>;
