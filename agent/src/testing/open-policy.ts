import type { ReportedHostPolicy } from "../../../protocol/index.ts";

/** A host policy that limits nothing, for tests of everything but the policy. */
export const OPEN_POLICY: ReportedHostPolicy = {
  remote_hooks: true,
  restore_targets: null,
  backup_paths: null,
  repositories: null,
  source: "test (open)",
};
