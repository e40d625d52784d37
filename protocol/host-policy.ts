import * as v from "valibot";
import { ShortText } from "./common.ts";

const Prefixes = v.pipe(
  v.array(v.pipe(v.string(), v.minLength(1, "must not be empty"), v.maxLength(4096))),
  v.maxLength(256),
);

/**
 * What any server may ask of a host, set on the host itself (its policy file) and reported in
 * `hello` since protocol 4. A list is allowed prefixes; null is no limit.
 * - remote_hooks: whether jobs may carry pre/post hooks (commands the agent runs).
 * - restore_targets: folders a restore may write into (a restore into "/" is in place).
 * - backup_paths: folders a backup may read.
 * - repositories: repository URL prefixes the host may use; "first" pins the first repository
 *   the host is given, until it is changed on the host.
 */
export const HostPolicy = v.object({
  remote_hooks: v.boolean(),
  restore_targets: v.nullable(Prefixes),
  backup_paths: v.nullable(Prefixes),
  repositories: v.union([v.nullable(Prefixes), v.literal("first")]),
});
export type HostPolicy = v.InferOutput<typeof HostPolicy>;

/** The policy as the agent reports it: plus where it came from (a file path, or "built-in"). */
export const ReportedHostPolicy = v.object({ ...HostPolicy.entries, source: ShortText });
export type ReportedHostPolicy = v.InferOutput<typeof ReportedHostPolicy>;

/** The policy file: every key optional (an absent key keeps its default), unknown keys refused. */
export const HostPolicyFile = v.strictObject({
  remote_hooks: v.optional(HostPolicy.entries.remote_hooks),
  restore_targets: v.optional(HostPolicy.entries.restore_targets),
  backup_paths: v.optional(HostPolicy.entries.backup_paths),
  repositories: v.optional(HostPolicy.entries.repositories),
});
export type HostPolicyFile = v.InferOutput<typeof HostPolicyFile>;
