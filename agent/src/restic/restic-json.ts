import * as v from "valibot";

/**
 * restic's `--json` line messages, as far as the supervisor reads them. Objects are loose: newer
 * restic adds fields (0.18's summary has backup_start, data_added_packed...), which pass through.
 * A line that matches none of these goes to the job log as is.
 */

const num = v.pipe(v.number(), v.finite());
const optNum = v.optional(num);

/** backup (all versions) and restore (>= 0.16) progress; restore counts *_restored instead of *_done. */
export const StatusMessage = v.looseObject({
  message_type: v.literal("status"),
  percent_done: optNum,
  total_files: optNum,
  files_done: optNum,
  files_restored: optNum,
  total_bytes: optNum,
  bytes_done: optNum,
  bytes_restored: optNum,
  seconds_elapsed: optNum,
  seconds_remaining: optNum,
  error_count: optNum,
  current_files: v.optional(v.array(v.string())),
});
export type StatusMessage = v.InferOutput<typeof StatusMessage>;

/** The last line of backup; restore (>= 0.16) and check (>= 0.18) print one too. */
export const SummaryMessage = v.looseObject({
  message_type: v.literal("summary"),
  // 0.14 prints the 8-hex short id here, 0.18 the full 64-hex id.
  snapshot_id: v.optional(v.string()),
  total_files_processed: optNum,
  total_bytes_processed: optNum,
});
export type SummaryMessage = v.InferOutput<typeof SummaryMessage>;

/**
 * A file restic could not read; 0.14 marshals the Go error as `{}`, 0.17.1+ as `{message}`.
 * 0.18's check prints its findings as `{"message_type":"error","message":"..."}`.
 */
export const ErrorMessage = v.looseObject({
  message_type: v.literal("error"),
  error: v.optional(v.unknown()),
  message: v.optional(v.string()),
  during: v.optional(v.string()),
  item: v.optional(v.string()),
});
export type ErrorMessage = v.InferOutput<typeof ErrorMessage>;

/** One line per file with `backup -v --json`. */
export const VerboseStatusMessage = v.looseObject({
  message_type: v.literal("verbose_status"),
  action: v.optional(v.string()),
  item: v.optional(v.string()),
});
export type VerboseStatusMessage = v.InferOutput<typeof VerboseStatusMessage>;

/** restic >= 0.18 prints its fatal error on stderr as JSON when --json is set. */
export const ExitErrorMessage = v.looseObject({
  message_type: v.literal("exit_error"),
  code: optNum,
  message: v.string(),
});
export type ExitErrorMessage = v.InferOutput<typeof ExitErrorMessage>;

export const ResticMessage = v.variant("message_type", [
  StatusMessage,
  SummaryMessage,
  ErrorMessage,
  VerboseStatusMessage,
  ExitErrorMessage,
]);
export type ResticMessage = v.InferOutput<typeof ResticMessage>;

/**
 * Parses one output line. Returns the message when the line is one of restic's known JSON
 * messages, `json` for other JSON (forget's group list, 0.18's "initialized"), null for text.
 */
export function parseResticLine(
  line: string,
): { kind: "message"; message: ResticMessage } | { kind: "json"; value: unknown } | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return null;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return null;
  }
  const parsed = v.safeParse(ResticMessage, value);
  return parsed.success ? { kind: "message", message: parsed.output } : { kind: "json", value };
}

/** A readable one-liner for an error message, for the job log. */
export function describeError(msg: ErrorMessage): string {
  const err = msg.error;
  let text = "";
  if (typeof err === "string") text = err;
  else if (err && typeof err === "object" && "message" in err && typeof err.message === "string") text = err.message;
  else if (msg.message) text = msg.message.trim();
  const where = [msg.during, msg.item].filter(Boolean).join(" ");
  return `error${where ? ` (${where})` : ""}${text ? `: ${text}` : ""}`;
}

/** 0.18's `check --json` summary; older versions print text only. */
export const CheckSummary = v.looseObject({
  message_type: v.literal("summary"),
  num_errors: num,
  broken_packs: v.optional(v.nullable(v.array(v.string()))),
  suggest_repair_index: v.optional(v.boolean()),
  suggest_prune: v.optional(v.boolean()),
});
export type CheckSummary = v.InferOutput<typeof CheckSummary>;

/** What a check job's stats.check holds (0.18+): restic's own verdict, in numbers. */
export function checkStats(summary: unknown): Record<string, unknown> | null {
  const parsed = v.safeParse(CheckSummary, summary);
  if (!parsed.success) return null;
  const s = parsed.output;
  return {
    num_errors: s.num_errors,
    broken_packs: s.broken_packs ?? [],
    suggest_repair_index: s.suggest_repair_index ?? false,
    suggest_prune: s.suggest_prune ?? false,
  };
}

/**
 * One line of `ls --json`: the snapshot first, then a node per line. 0.17 renamed `struct_type`
 * to `message_type` (0.18 prints both); either is accepted.
 */
export const LsLine = v.pipe(
  v.looseObject({
    struct_type: v.optional(v.picklist(["snapshot", "node"])),
    message_type: v.optional(v.picklist(["snapshot", "node"])),
    name: v.optional(v.string()),
    type: v.optional(v.string()),
    path: v.optional(v.string()),
    size: optNum,
    mtime: v.optional(v.string()),
  }),
  v.check((l) => (l.message_type ?? l.struct_type) !== undefined, "has neither struct_type nor message_type"),
  v.transform((l) => ({ ...l, kind: (l.message_type ?? l.struct_type) as "snapshot" | "node" })),
);
export type LsLine = v.InferOutput<typeof LsLine>;

/** `snapshots --json`: one line holding the whole array. */
export const ResticSnapshot = v.looseObject({
  id: v.string(),
  short_id: v.optional(v.string()),
  time: v.string(),
  hostname: v.optional(v.string()),
  paths: v.optional(v.nullable(v.array(v.string()))),
  tags: v.optional(v.nullable(v.array(v.string()))),
  /** The first snapshot's id once `restic tag` rewrote it (0.14 and 0.18). */
  original: v.optional(v.string()),
  // restic >= 0.17
  summary: v.optional(
    v.looseObject({
      total_files_processed: optNum,
      total_bytes_processed: optNum,
    }),
  ),
});
export type ResticSnapshot = v.InferOutput<typeof ResticSnapshot>;
export const ResticSnapshotList = v.array(ResticSnapshot);

/** `stats --json` in either mode; raw-data adds total_blob_count. */
export const ResticStats = v.looseObject({
  total_size: num,
  snapshots_count: optNum,
  total_file_count: optNum,
});
export type ResticStats = v.InferOutput<typeof ResticStats>;

/** The first stdout line that is JSON and fits the schema (restic may print a warning first). */
export function parseJsonLine<S extends v.GenericSchema>(lines: string[], schema: S): v.InferOutput<S> | null {
  for (const line of lines) {
    const t = line.trim();
    if (!t.startsWith("{") && !t.startsWith("[")) continue;
    try {
      const parsed = v.safeParse(schema, JSON.parse(t));
      if (parsed.success) return parsed.output;
    } catch {
      // not JSON after all; try the next line
    }
  }
  return null;
}
