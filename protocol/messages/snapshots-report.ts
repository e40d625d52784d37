import * as v from "valibot";
import { Count, envelope, ShortText, StringList, Timestamp } from "../common.ts";

export const Snapshot = v.object({
  id: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "must be a 64-hex restic snapshot id")),
  short_id: v.pipe(v.string(), v.regex(/^[0-9a-f]{8}$/, "must be an 8-hex restic short id")),
  time: Timestamp,
  hostname: ShortText,
  paths: StringList,
  tags: v.optional(StringList),
  size_bytes: v.optional(Count),
  file_count: v.optional(Count),
});
export type Snapshot = v.InferOutput<typeof Snapshot>;

/** The host's full snapshot list; it replaces what the server had. */
export const SnapshotsReportPayload = v.object({
  snapshots: v.pipe(v.array(Snapshot), v.maxLength(100_000)),
});
export type SnapshotsReportPayload = v.InferOutput<typeof SnapshotsReportPayload>;
export const SnapshotsReport = envelope("snapshots.report", SnapshotsReportPayload);
export type SnapshotsReport = v.InferOutput<typeof SnapshotsReport>;
