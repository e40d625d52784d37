// The agent's restic supervisor: a job queue that runs the real restic CLI,
// streams its progress and logs, and reports snapshots and repository health.

export { type BackupInput, buildPlan, type GlobalFlags, type JobPlan } from "./argv.ts";
export { classifyFailure, type Failure, STDERR_TAIL_LINES } from "./classify.ts";
export { hookArgv } from "./hooks.ts";
export { parseResticLine, type ResticMessage } from "./restic-json.ts";
export { redactorFor } from "./secrets.ts";
export { bunSpawn } from "./spawn.ts";
export { Supervisor } from "./supervisor.ts";
export type {
  ChildLike,
  Emit,
  FailureReason,
  RepoConfig,
  ResticFeatures,
  SpawnFn,
  SupervisorOptions,
} from "./types.ts";
export { escapeGlob } from "./validate.ts";
export { detectResticVersion, parseResticVersion, type ResticVersion } from "./version.ts";
