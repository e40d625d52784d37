import type { CommandRunPayload } from "../../../protocol/index.ts";
import type { Job, Schedule } from "./types.ts";

/** The typed spec a schedule's job carries; args keep their original wire meaning, "paths for backup". */
export function specFromSchedule(s: Schedule): { args: string[]; spec: Record<string, unknown> | null } {
  switch (s.kind) {
    case "backup": {
      const spec: Record<string, unknown> = { paths: s.paths };
      if (s.excludes.length) spec.excludes = s.excludes;
      if (s.tags.length) spec.tags = s.tags;
      if (s.pre_hook) spec.pre_hook = s.pre_hook;
      if (s.post_hook) spec.post_hook = s.post_hook;
      return { args: s.paths, spec };
    }
    case "forget":
      return { args: [], spec: { policy: s.retention_policy ?? {}, prune: s.options.prune === true } };
    case "check":
      return {
        args: [],
        spec: typeof s.options.read_data_subset === "string" ? { read_data_subset: s.options.read_data_subset } : {},
      };
    case "init":
    case "prune":
    case "unlock":
    case "restore":
      return { args: [], spec: null };
  }
}

/** The command.run payload for a stored job. */
export function commandFor(job: Job): CommandRunPayload {
  const payload = { job_id: job.id, kind: job.kind, args: job.args } as CommandRunPayload;
  if (job.spec) (payload as { spec?: unknown }).spec = job.spec;
  return payload;
}
