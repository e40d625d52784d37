import type { CommandRunPayload, JobKind, JobSpecs } from "../../../protocol/index.ts";
import { rollingParts } from "./read-cycles.ts";
import type { Job, JobCommand, Schedule, WireCommand } from "./types.ts";

/**
 * The protocol version since which agents know a job kind; kinds not listed are known to every
 * version. An older agent would refuse the command (and a schedule.set naming the kind whole).
 */
export const KIND_SINCE: Partial<Record<JobKind, number>> = { drill: 7, tag: 8, copy: 9 };

/** A forget by `snapshot_ids` came with protocol 8: an older agent would need a policy. */
export const FORGET_IDS_SINCE = 8;

/**
 * Why the host's agent cannot run a job of this kind, or null when it can (or when it has not said
 * hello yet, so its version is unknown: the job then waits, and is checked again when sent).
 */
export function kindProblem(kind: JobKind, host: { id: string; protocol_version: number | null }): string | null {
  const since = KIND_SINCE[kind];
  const version = host.protocol_version;
  if (since === undefined || version === null || version >= since) return null;
  return (
    `the agent on host ${host.id} speaks protocol ${version}, and a ${kind} needs protocol ${since}: ` +
    "upgrade the agent to run it"
  );
}

/** A backup of a command's output (stdin_command) came with protocol 9. */
export const STDIN_BACKUP_SINCE = 9;

function stdinProblem(host: { id: string; protocol_version: number | null }): string | null {
  const version = host.protocol_version;
  if (version === null || version >= STDIN_BACKUP_SINCE) return null;
  return (
    `the agent on host ${host.id} speaks protocol ${version}, and a backup of a command's output (stdin_command) ` +
    `needs protocol ${STDIN_BACKUP_SINCE}: upgrade the agent to run it`
  );
}

/** Why the host's agent cannot run this schedule (its kind, or a stdin backup), or null. */
export function scheduleProblem(
  s: { kind: JobKind; stdin_command: readonly string[] | null },
  host: { id: string; protocol_version: number | null },
): string | null {
  return kindProblem(s.kind, host) ?? (s.stdin_command ? stdinProblem(host) : null);
}

/** kindProblem, a forget by snapshot_ids before protocol 8, and a stdin backup before 9. */
export function commandProblem(
  cmd: { kind: JobKind; spec?: unknown },
  host: { id: string; protocol_version: number | null },
): string | null {
  const kind = kindProblem(cmd.kind, host);
  if (kind) return kind;
  const stdin = cmd.kind === "backup" && (cmd.spec as { stdin_command?: unknown } | null)?.stdin_command !== undefined;
  if (stdin) return stdinProblem(host);
  const version = host.protocol_version;
  const byIds = cmd.kind === "forget" && (cmd.spec as { snapshot_ids?: unknown } | null)?.snapshot_ids !== undefined;
  if (!byIds || version === null || version >= FORGET_IDS_SINCE) return null;
  return (
    `the agent on host ${host.id} speaks protocol ${version}, and forgetting a snapshot by id needs protocol ` +
    `${FORGET_IDS_SINCE}: upgrade the agent to run it`
  );
}

/**
 * The typed spec a schedule's job carries; args keep their original wire meaning, "paths for backup".
 * A rolling check ("k/N") checks `readPart` of N (read-cycles.ts picks it), so the wire carries
 * restic's own form.
 */
export function specFromSchedule(s: Schedule, readPart: number | null = null): { args: string[] } & JobCommand {
  switch (s.kind) {
    case "backup": {
      const spec: JobSpecs["backup"] = s.stdin_command ? { stdin_command: s.stdin_command } : { paths: s.paths };
      if (s.stdin_command && s.stdin_filename) spec.stdin_filename = s.stdin_filename;
      if (s.excludes.length) spec.excludes = s.excludes;
      if (s.tags.length) spec.tags = s.tags;
      if (s.pre_hook) spec.pre_hook = s.pre_hook;
      if (s.post_hook) spec.post_hook = s.post_hook;
      return { args: s.paths, kind: s.kind, spec };
    }
    case "forget":
      return { args: [], kind: s.kind, spec: { policy: s.retention_policy ?? {}, prune: s.options.prune === true } };
    case "check": {
      const subset = s.options.read_data_subset;
      if (typeof subset !== "string") return { args: [], kind: s.kind, spec: {} };
      const parts = rollingParts(subset);
      return {
        args: [],
        kind: s.kind,
        spec: { read_data_subset: parts === null ? subset : `${readPart ?? 1}/${parts}` },
      };
    }
    case "drill": {
      const spec: JobSpecs["drill"] = {};
      const o = s.options;
      if (typeof o.snapshot_id === "string") spec.snapshot_id = o.snapshot_id;
      if (typeof o.sample_files === "number") spec.sample_files = o.sample_files;
      if (typeof o.max_bytes === "string") spec.max_bytes = o.max_bytes;
      return { args: [], kind: s.kind, spec };
    }
    case "init":
    case "prune":
    case "unlock":
    case "restore":
    case "tag":
    case "copy":
      return { args: [], kind: s.kind, spec: null };
  }
}

// The two forms of one command. Generic over the kind, so TypeScript checks each against the
// member for K, and a union argument gives the union back. Inside, K may itself be a union: pass
// one command's own kind and spec through together, never build one from separate parts.

/** The domain's form of a wire command: a left-out spec becomes null. */
export function jobCommand<K extends JobKind>(c: WireCommand<K>): JobCommand<K> {
  return { kind: c.kind, spec: c.spec ?? null };
}

/** The wire's form of a job's command: a null spec is left out. */
export function wireCommand<K extends JobKind>(c: JobCommand<K>): WireCommand<K> {
  return c.spec === null ? { kind: c.kind } : { kind: c.kind, spec: c.spec };
}

/** The command.run payload for a stored job. */
export function commandFor(job: Job): CommandRunPayload {
  // Protocol 10: the tick a schedule's job runs, for the agent's ledger of fires (an older agent
  // drops the fields it does not know).
  const tick =
    job.scheduled_id && job.scheduled_at ? { schedule_id: job.scheduled_id, scheduled_at: job.scheduled_at } : {};
  return { job_id: job.id, ...wireCommand(job), args: job.args, ...tick };
}
