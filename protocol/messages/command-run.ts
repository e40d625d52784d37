import * as v from "valibot";
import { envelope, Hook, Id, ResticHost, RetentionPolicy, StringList } from "../common.ts";

export const BackupSpec = v.object({
  paths: v.optional(StringList),
  excludes: v.optional(StringList),
  tags: v.optional(StringList),
  pre_hook: v.optional(Hook),
  post_hook: v.optional(Hook),
});
export type BackupSpec = v.InferOutput<typeof BackupSpec>;

export const ForgetSpec = v.object({
  policy: RetentionPolicy,
  prune: v.optional(v.boolean()),
});
export type ForgetSpec = v.InferOutput<typeof ForgetSpec>;

export const CheckSpec = v.object({
  // restic's forms: "10%", "1/5", "500M"
  read_data_subset: v.optional(
    v.pipe(v.string(), v.regex(/^(\d+(\.\d+)?%|\d+\/\d+|\d+[KMGT]?)$/, "must be like 10%, 1/5 or 500M")),
  ),
});
export type CheckSpec = v.InferOutput<typeof CheckSpec>;

export const RestoreSpec = v.object({
  snapshot_id: v.pipe(v.string(), v.regex(/^([0-9a-f]{8,64}|latest)$/, "must be a snapshot id or latest")),
  target: v.pipe(v.string(), v.minLength(1, "must not be empty"), v.maxLength(4096)),
  include: v.optional(StringList),
  /**
   * Since protocol 2: restore another host's snapshot (its restic host name). Without it the agent
   * restores only its own snapshots: `latest` means its own latest, and an id of another host's
   * snapshot is refused.
   */
  source_host: v.optional(ResticHost),
});
export type RestoreSpec = v.InferOutput<typeof RestoreSpec>;

/** No spec fields yet; an object keeps room for them. */
export const EmptySpec = v.object({});

/**
 * One variant per job kind over the given common entries, so a spec is always checked against
 * its own kind. The server's run-now body reuses it with its own common fields, and its own
 * restore spec (it names a source host by id, where the wire names it by restic host name).
 */
export function specByKind<E extends v.ObjectEntries, R extends v.GenericSchema = typeof RestoreSpec>(
  entries: E,
  restore: R = RestoreSpec as unknown as R,
) {
  return v.variant("kind", [
    v.object({ ...entries, kind: v.literal("backup"), spec: v.optional(BackupSpec) }),
    v.object({ ...entries, kind: v.literal("init"), spec: v.optional(EmptySpec) }),
    v.object({ ...entries, kind: v.literal("forget"), spec: v.optional(ForgetSpec) }),
    v.object({ ...entries, kind: v.literal("prune"), spec: v.optional(EmptySpec) }),
    v.object({ ...entries, kind: v.literal("check"), spec: v.optional(CheckSpec) }),
    v.object({ ...entries, kind: v.literal("unlock"), spec: v.optional(EmptySpec) }),
    v.object({ ...entries, kind: v.literal("restore"), spec: v.optional(restore) }),
  ]);
}

export const CommandRunPayload = specByKind({ job_id: Id, args: v.optional(StringList) });
export type CommandRunPayload = v.InferOutput<typeof CommandRunPayload>;
export const CommandRun = envelope("command.run", CommandRunPayload);
export type CommandRun = v.InferOutput<typeof CommandRun>;
