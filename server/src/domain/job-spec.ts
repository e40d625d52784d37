import {
  absolutePathProblem,
  keepsSomething,
  stdinCommandProblem,
  stdinFilenameProblem,
  tagChangeProblem,
  tagProblem,
  textProblem,
} from "../../../protocol/index.ts";
import { DomainError } from "./errors.ts";
import type { ApiJobCommand, JobCommand } from "./types.ts";

/**
 * The value rules of a job's spec, the same for every door that makes a job (run now, a
 * schedule's fire, later policies and bulk runs): the protocol's checks, with the field's path.
 * The agent applies the same checks again before it runs restic. The schema has already checked
 * the shape; the switch on `kind` narrows the spec to its kind's.
 */
export function checkJobSpec(command: JobCommand | ApiJobCommand, at = "spec"): void {
  function fail(field: string, problem: string): never {
    throw new DomainError("invalid", problem, `${at}.${field}`);
  }
  const each = (
    field: string,
    list: readonly string[] | undefined,
    check: (value: string, what: string) => string | null,
    what: string,
  ) => {
    list?.forEach((value, i) => {
      const problem = check(value, what);
      if (problem) fail(`${field}.${i}`, problem);
    });
  };
  switch (command.kind) {
    case "backup": {
      const spec = command.spec;
      if (spec?.stdin_command !== undefined) {
        // A backup of a command's output: the command and a file name, no paths.
        const problem = stdinCommandProblem(spec.stdin_command);
        if (problem) fail("stdin_command", problem);
        if (spec.paths?.length) fail("paths", "a backup reads paths or a command's output (stdin_command), not both");
        if (spec.excludes?.length) fail("excludes", "excludes are for paths: a backup of a command's output has none");
        const name = spec.stdin_filename === undefined ? null : stdinFilenameProblem(spec.stdin_filename);
        if (name) fail("stdin_filename", name);
        each("tags", spec.tags, tagProblem, "tag");
        return;
      }
      if (spec?.stdin_filename !== undefined) fail("stdin_filename", "stdin_filename needs a stdin_command");
      const paths = command.spec?.paths;
      if (!paths || paths.length === 0) fail("paths", "a backup needs at least one path");
      each("paths", paths, (p, w) => absolutePathProblem(p, w), "backup path");
      each("excludes", command.spec?.excludes, textProblem, "exclude");
      each("tags", command.spec?.tags, tagProblem, "tag");
      return;
    }
    case "forget": {
      if (command.spec?.snapshot_ids !== undefined) {
        if (command.spec.policy !== undefined) fail("policy", "a forget names snapshot_ids or a policy, not both");
        return;
      }
      const policy = command.spec?.policy;
      if (!keepsSomething(policy)) {
        fail("policy", "a forget needs a retention policy that keeps something (e.g. keep_daily: 7)");
      }
      each("policy.keep_tags", policy?.keep_tags, tagProblem, "keep_tags entry");
      return;
    }
    case "restore": {
      const spec = command.spec;
      if (!spec) fail("snapshot_id", "a restore needs snapshot_id and target");
      const target = absolutePathProblem(spec.target, "restore target");
      if (target) fail("target", target);
      each("include", spec.include, textProblem, "include path");
      return;
    }
    case "tag": {
      if (!command.spec) fail("snapshot_id", "a tag job needs snapshot_id and set, add or remove");
      const problem = tagChangeProblem(command.spec);
      if (problem) fail(problem.field, problem.problem);
      return;
    }
    case "init":
    case "prune":
    case "check":
    case "unlock":
    case "drill":
    case "copy":
      return;
  }
}
