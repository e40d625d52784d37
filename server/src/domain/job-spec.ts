import {
  absolutePathProblem,
  type JobKind,
  keepsSomething,
  type RetentionPolicy,
  tagProblem,
  textProblem,
} from "../../../protocol/index.ts";
import { DomainError } from "./errors.ts";

/**
 * The value rules of a job's spec, the same for every door that makes a job (run now, a
 * schedule's fire, later policies and bulk runs): the protocol's checks, with the field's path.
 * The agent applies the same checks again before it runs restic.
 */
export function checkJobSpec(kind: JobKind, spec: Record<string, unknown> | null | undefined, at = "spec"): void {
  const s = spec ?? {};
  const fail = (field: string, problem: string) => {
    throw new DomainError("invalid", problem, `${at}.${field}`);
  };
  const each = (field: string, check: (v: string, what: string) => string | null, what: string) => {
    const list = s[field];
    if (!Array.isArray(list)) return;
    list.forEach((value, i) => {
      const problem = check(String(value), what);
      if (problem) fail(`${field}.${i}`, problem);
    });
  };
  switch (kind) {
    case "backup":
      if (!Array.isArray(s.paths) || s.paths.length === 0) fail("paths", "a backup needs at least one path");
      each("paths", (p, w) => absolutePathProblem(p, w), "backup path");
      each("excludes", textProblem, "exclude");
      each("tags", tagProblem, "tag");
      return;
    case "forget": {
      const policy = s.policy as RetentionPolicy | undefined;
      if (!keepsSomething(policy)) {
        fail("policy", "a forget needs a retention policy that keeps something (e.g. keep_daily: 7)");
      }
      if (policy?.keep_tags) {
        policy.keep_tags.forEach((t, i) => {
          const problem = tagProblem(t, "keep_tags entry");
          if (problem) fail(`policy.keep_tags.${i}`, problem);
        });
      }
      return;
    }
    case "restore": {
      if (typeof s.snapshot_id !== "string") fail("snapshot_id", "a restore needs snapshot_id and target");
      const target =
        typeof s.target === "string" ? absolutePathProblem(s.target, "restore target") : "a restore needs a target";
      if (target) fail("target", target);
      each("include", textProblem, "include path");
      return;
    }
    case "init":
    case "prune":
    case "check":
    case "unlock":
      return;
  }
}
