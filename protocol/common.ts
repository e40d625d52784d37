import * as v from "valibot";
import { KEEP_WITHIN } from "./checks.ts";

/** The job kinds the agent knows how to run, as named on the wire (`drill` since 7, `copy` since 9). */
export const JOB_KINDS = [
  "backup",
  "init",
  "forget",
  "prune",
  "check",
  "unlock",
  "restore",
  "drill",
  "tag",
  "copy",
] as const;
export const JobKind = v.picklist(JOB_KINDS);
export type JobKind = v.InferOutput<typeof JobKind>;

/** Every status a job can have on the server. */
export const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export const JobStatus = v.picklist(JOB_STATUSES);
export type JobStatus = v.InferOutput<typeof JobStatus>;

/** The statuses an agent may report in `job.finished`. */
export const TERMINAL_JOB_STATUSES = ["succeeded", "failed", "cancelled"] as const;
export const TerminalJobStatus = v.picklist(TERMINAL_JOB_STATUSES);
export type TerminalJobStatus = v.InferOutput<typeof TerminalJobStatus>;

// 200 chars is ample for UUIDs and server ids, and keeps garbage out of indexes.
export const Id = v.pipe(v.string(), v.minLength(1, "must not be empty"), v.maxLength(200));

/** Free text from a peer: bounded so one field cannot eat the whole frame budget. */
export const Text = v.pipe(v.string(), v.maxLength(64 * 1024));
export const ShortText = v.pipe(v.string(), v.maxLength(1024));

/**
 * RFC 3339 date-time, as Go's time.Time marshals it (RFC3339Nano): `2026-11-30T12:00:00Z`,
 * `2026-11-30T12:00:00.123456789+01:00`. Times are read with Date.parse, which accepts these.
 */
export const Timestamp = v.pipe(
  v.string(),
  v.regex(
    /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/,
    "must be an RFC 3339 date-time such as 2026-11-30T12:00:00Z",
  ),
  // The pattern lets a leap second through (23:59:60, which Go's time.Time never marshals) and
  // Date cannot parse it; a receiver normalises every time with Date, so it must parse.
  v.check((s) => Number.isFinite(Date.parse(s)), "must be a real date-time such as 2026-11-30T12:00:00Z"),
);

export const Count = v.pipe(v.number(), v.safeInteger("must be an integer"), v.minValue(0, "must not be negative"));
export const SignedInt = v.pipe(v.number(), v.safeInteger("must be an integer"));
export const NonNegative = v.pipe(
  v.number(),
  v.minValue(0, "must not be negative"),
  v.maxValue(Number.MAX_SAFE_INTEGER, "is too large"),
);

// Bounded lists: 10,000 paths or tags is far beyond any sane schedule.
export const StringList = v.pipe(v.array(v.pipe(v.string(), v.maxLength(4096))), v.maxLength(10_000));

/** restic's forget policy; every field optional, as restic's own flags are. */
export const RetentionPolicy = v.object({
  keep_last: v.optional(Count),
  keep_hourly: v.optional(Count),
  keep_daily: v.optional(Count),
  keep_weekly: v.optional(Count),
  keep_monthly: v.optional(Count),
  keep_yearly: v.optional(Count),
  // restic duration such as "1y5m7d2h"
  keep_within: v.optional(v.pipe(v.string(), v.regex(KEEP_WITHIN, "must be a restic duration such as 7d or 1y6m"))),
  keep_tags: v.optional(StringList),
});
export type RetentionPolicy = v.InferOutput<typeof RetentionPolicy>;

/**
 * A restic host name, fixed at enrollment: what `backup --host` writes into a snapshot and `--host`
 * selects by. No control characters, no leading '-', and no ',' (restic splits some lists on it).
 */
export const ResticHost = v.pipe(
  v.string(),
  v.minLength(1, "must not be empty"),
  v.maxLength(255),
  v.check(
    (s) => !s.startsWith("-") && !s.includes(",") && ![...s].some((c) => c < " " || c === "\x7f"),
    "must not start with '-' or contain ',' or control characters",
  ),
);

/** An IANA time zone name such as Europe/Berlin (the receiver checks that it knows it). */
export const TimeZone = v.pipe(
  v.string(),
  v.minLength(1, "must not be empty"),
  v.maxLength(64),
  v.regex(/^[A-Za-z0-9_+/-]+$/, "must be an IANA time zone such as Europe/Berlin"),
);

/** A hook is a shell snippet run by the agent with `hook_shell`. */
export const Hook = v.pipe(v.string(), v.maxLength(16 * 1024));

/**
 * Since protocol 9: a backup of a command's output (`pg_dump mydb`), as an argv array: the
 * program and its arguments, run without a shell (a shell is asked for by naming it:
 * `["/bin/sh", "-c", "pg_dump mydb | gzip"]`). Like a hook, a host whose policy has
 * remote_hooks false refuses it.
 */
export const StdinCommand = v.pipe(
  v.array(v.pipe(v.string(), v.maxLength(4096))),
  v.minLength(1, "must name the program to run"),
  v.maxLength(256),
  v.check((argv) => stdinCommandProblem(argv) === null, "must start with a program name (not empty, no '=')"),
);

/** Why an argv cannot be a stdin command, or null (the program is not empty and has no '='). */
export function stdinCommandProblem(argv: readonly string[]): string | null {
  const program = argv[0];
  if (program === undefined || program.trim() === "") return "the program (the first element) must not be empty";
  // The agent may run it through `env -u ... -- PROGRAM`, which would take NAME=VALUE for a variable.
  if (program.includes("=")) return "the program (the first element) must not contain '='";
  if ([...argv.join("")].some((c) => c === "\0")) return "must not contain NUL characters";
  return null;
}

/**
 * Since protocol 9: the file name a stdin backup stores the command's output under (restic's
 * --stdin-filename; restic's default is `stdin`). One name, no folders.
 */
export const StdinFilename = v.pipe(
  v.string(),
  v.minLength(1, "must not be empty"),
  v.maxLength(255),
  v.check((s) => stdinFilenameProblem(s) === null, "must be a plain file name such as mydb.sql (no / or \\)"),
);

/** Why a name cannot be a stdin backup's file name, or null. */
export function stdinFilenameProblem(name: string): string | null {
  if (name === "" || name === "." || name === "..") return "must be a file name such as mydb.sql";
  if (/[/\\]/.test(name)) return "must be a plain file name such as mydb.sql, without / or \\";
  if ([...name].some((c) => c < " " || c === "\x7f")) return "must not contain control characters";
  return null;
}

/** valibot's record() also takes arrays; this is for places that mean a JSON object. */
export function objectRecord<K extends v.GenericSchema<string>, V extends v.GenericSchema>(key: K, value: V) {
  // The check runs on the raw input: record() already copied an array into a plain object.
  return v.pipe(
    v.unknown(),
    v.check((input) => !Array.isArray(input), "must be a JSON object, not an array"),
    v.record(key, value),
  );
}

/** Extra per-schedule options: scalar values only, keyed by name. */
export const Options = objectRecord(
  v.pipe(v.string(), v.regex(/^[a-z][a-z0-9_]{0,63}$/, "option names are snake_case")),
  v.union([v.string(), v.number(), v.boolean()]),
);

/** Builds an envelope schema for one message type: `{type, id, ts, payload}`. */
export function envelope<const T extends string, P extends v.GenericSchema>(type: T, payload: P) {
  return v.object({ type: v.literal(type), id: Id, ts: Timestamp, payload });
}
