import type { CommandRunPayload, JobKind, JobSpecs } from "../../../protocol/index.ts";
import type { Job, JobCommand, Schedule, WireCommand } from "./types.ts";

/** The typed spec a schedule's job carries; args keep their original wire meaning, "paths for backup". */
export function specFromSchedule(s: Schedule): { args: string[] } & JobCommand {
  switch (s.kind) {
    case "backup": {
      const spec: JobSpecs["backup"] = { paths: s.paths };
      if (s.excludes.length) spec.excludes = s.excludes;
      if (s.tags.length) spec.tags = s.tags;
      if (s.pre_hook) spec.pre_hook = s.pre_hook;
      if (s.post_hook) spec.post_hook = s.post_hook;
      return { args: s.paths, kind: s.kind, spec };
    }
    case "forget":
      return { args: [], kind: s.kind, spec: { policy: s.retention_policy ?? {}, prune: s.options.prune === true } };
    case "check":
      return {
        args: [],
        kind: s.kind,
        spec: typeof s.options.read_data_subset === "string" ? { read_data_subset: s.options.read_data_subset } : {},
      };
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
  return { job_id: job.id, ...wireCommand(job), args: job.args };
}
