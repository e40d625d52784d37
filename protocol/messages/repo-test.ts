import * as v from "valibot";
import { Count, envelope, Id, ShortText, Text } from "../common.ts";
import { RepoEnv } from "./config-update.ts";

/**
 * Since protocol 8 (server → agent): test a repository now, with the settings the server holds
 * for it (not the host's own), live and never kept. The agent runs read-only restic with a short
 * timeout and answers one `repo.tested` of the same `request_id`.
 */
export const RepoTestPayload = v.object({
  request_id: Id,
  repo_url: Text,
  repo_password: Text,
  repo_username: v.optional(Text),
  repo_credential: v.optional(Text),
  repo_env: v.optional(RepoEnv),
});
export type RepoTestPayload = v.InferOutput<typeof RepoTestPayload>;
export const RepoTest = envelope("repo.test", RepoTestPayload);
export type RepoTest = v.InferOutput<typeof RepoTest>;

/**
 * Since protocol 8 (agent → server): what the test found. `reachable`: restic got an answer from
 * the backend; `initialised`: a repository (its config) is there; `password_ok`: the password
 * opened a key (false also when it could not be tried). `locks.stale`: how many of the locks are
 * older than 30 minutes or held by a dead process on this host. `error`: restic's own text,
 * secrets replaced by ***, when a step failed.
 */
export const RepoTestedPayload = v.object({
  request_id: Id,
  reachable: v.boolean(),
  initialised: v.boolean(),
  password_ok: v.boolean(),
  locks: v.optional(v.object({ count: Count, stale: v.optional(Count) })),
  error: v.optional(Text),
  restic_version: v.optional(ShortText),
});
export type RepoTestedPayload = v.InferOutput<typeof RepoTestedPayload>;
export const RepoTested = envelope("repo.tested", RepoTestedPayload);
export type RepoTested = v.InferOutput<typeof RepoTested>;
