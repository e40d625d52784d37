import * as v from "valibot";
import { Count, envelope, Id, ShortText } from "../common.ts";
import { SnapshotHexId } from "./command-run.ts";
import { RequestError, SnapshotPath } from "./files-list.ts";

/** How many changed paths one `snapshots.diffed` carries at most (the rest are only counted). */
export const MAX_DIFF_CHANGES = 1000;

/**
 * Since protocol 8 (server → agent): compare two snapshots of this host (`restic diff --json`,
 * read-only, asked live like files.list and never kept). Both must be this host's own; the agent
 * checks, since restic ignores --host for ids. `limit` caps the changes listed (at most 1000).
 */
export const SnapshotsDiffPayload = v.object({
  request_id: Id,
  from: SnapshotHexId,
  to: SnapshotHexId,
  limit: v.optional(v.pipe(Count, v.minValue(1), v.maxValue(MAX_DIFF_CHANGES))),
});
export type SnapshotsDiffPayload = v.InferOutput<typeof SnapshotsDiffPayload>;
export const SnapshotsDiff = envelope("snapshots.diff", SnapshotsDiffPayload);
export type SnapshotsDiff = v.InferOutput<typeof SnapshotsDiff>;

/**
 * One changed path: `+` added, `-` removed, else modified with restic's marks (`M` content, `T`
 * type, `U` metadata only, `?` bitrot). `type` is `dir` for restic's paths ending in `/`.
 */
export const DiffChange = v.object({
  path: SnapshotPath,
  type: v.picklist(["file", "dir"]),
  change: v.picklist(["added", "removed", "modified"]),
  modifier: v.pipe(v.string(), v.maxLength(8)),
});
export type DiffChange = v.InferOutput<typeof DiffChange>;

/** restic's counts on one side of a diff. */
export const DiffSide = v.object({ files: Count, dirs: Count, others: Count, bytes: Count });
export type DiffSide = v.InferOutput<typeof DiffSide>;

export const DiffStats = v.object({ changed_files: Count, added: DiffSide, removed: DiffSide });
export type DiffStats = v.InferOutput<typeof DiffStats>;

/**
 * Since protocol 8 (agent → server): the diff, or the error. `changes` lists the first ones in
 * restic's order (by path), `total` counts them all; `from` and `to` are the full ids compared.
 */
export const SnapshotsDiffedPayload = v.object({
  request_id: Id,
  from: v.optional(ShortText),
  to: v.optional(ShortText),
  changes: v.optional(v.pipe(v.array(DiffChange), v.maxLength(MAX_DIFF_CHANGES))),
  total: v.optional(Count),
  stats: v.optional(DiffStats),
  error: v.optional(RequestError),
});
export type SnapshotsDiffedPayload = v.InferOutput<typeof SnapshotsDiffedPayload>;
export const SnapshotsDiffed = envelope("snapshots.diffed", SnapshotsDiffedPayload);
export type SnapshotsDiffed = v.InferOutput<typeof SnapshotsDiffed>;
