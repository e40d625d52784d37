import * as v from "valibot";
import { envelope, Id, ShortText, Text } from "../common.ts";

/**
 * Since protocol 8: restic's environment variables for the repository's backend (AWS_*, B2_*,
 * AZURE_*, GOOGLE_*, RESTIC_REST_*), named in protocol/repository-backends.ts. The agent checks
 * every name against that table too and redacts the secret ones' values from its logs.
 */
export const RepoEnv = v.pipe(
  v.record(v.pipe(v.string(), v.regex(/^[A-Z][A-Z0-9_]{0,63}$/, "must be an environment variable name")), Text),
  v.check((r) => Object.keys(r).length <= 16, "at most 16 variables"),
);

/**
 * Since protocol 9: one further repository the host's snapshots are copied to (3-2-1). `id` is
 * what a copy job's spec names. Secrets as for the main repository: left out (with
 * secrets_withheld) over an insecure link, and then the agent keeps what it held for that id.
 */
export const CopyTarget = v.object({
  id: Id,
  repo_url: Text,
  repo_password: v.optional(Text),
  repo_env: v.optional(RepoEnv),
  /** Initialise the target (with the main repository's chunker parameters) when it does not exist. */
  auto_init: v.optional(v.boolean()),
});
export type CopyTarget = v.InferOutput<typeof CopyTarget>;

/** Repository settings for the agent. An absent or empty field means "leave as is". */
export const ConfigUpdatePayload = v.object({
  repo_url: v.optional(Text),
  repo_password: v.optional(Text),
  repo_username: v.optional(Text),
  repo_credential: v.optional(Text),
  hook_shell: v.optional(ShortText),
  /**
   * Since protocol 4: the server left the repository password and credential out, because this
   * link is not encrypted (plain ws:// from a peer that is not on loopback). The agent says so.
   */
  secrets_withheld: v.optional(v.literal("insecure_link")),
  /**
   * Since protocol 5: before a backup, initialise the repository if it does not exist yet. A
   * setting the agent keeps; absent leaves it as is, so the server sends it (true or false) with
   * every repo_url to a version 5 agent.
   */
  auto_init: v.optional(v.boolean()),
  /**
   * Since protocol 8: the repository's whole environment (replaces what the agent held; `{}`
   * clears it). Absent leaves it as is; withheld whole, like the password, over an insecure link.
   */
  repo_env: v.optional(RepoEnv),
  /**
   * Since protocol 9: the host's copy targets, the whole list (replaces what the agent held; `[]`
   * clears it). Absent leaves it as is.
   */
  copy_targets: v.optional(v.pipe(v.array(CopyTarget), v.maxLength(16))),
  /**
   * Since protocol 10: how long the agent may go on running its backup schedules on its own
   * authority while it has no link to the server (DESIGN §8.7), counted from the last time the
   * link was up; 0 switches that off. A setting the agent keeps; absent leaves it as is. An agent
   * that never got it (its server is older than 10) runs nothing on its own.
   */
  max_offline_age_seconds: v.optional(
    v.pipe(v.number(), v.safeInteger("must be an integer"), v.minValue(0, "must not be negative")),
  ),
});
export type ConfigUpdatePayload = v.InferOutput<typeof ConfigUpdatePayload>;
export const ConfigUpdate = envelope("config.update", ConfigUpdatePayload);
export type ConfigUpdate = v.InferOutput<typeof ConfigUpdate>;
