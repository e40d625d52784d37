/**
 * The wire protocol version, sent in `hello`. Bump it with every schema change and add a
 * dated line below; `schema-hash.test.ts` fails until the new version's hash is recorded.
 *
 * Changelog:
 * - 1 (2026-11-30): first version: 11 agent→server and 7 server→agent messages.
 * - 2 (2026-12-01): hello.restic_host (the host's fixed restic host name) and the restore spec's
 *   source_host (restore another host's snapshot). Both optional: a version 1 peer is still served.
 * - 3 (2026-12-01): typed fields for facts that travelled in untyped bags: the schedule entry's
 *   timezone (was options.timezone), job.finished's failure_reason and warnings (were in stats);
 *   hello's active_job_ids (the server reconciles on every hello) and timezone (the host's zone);
 *   error's retryable hint. All optional: version 1 and 2 agents are still served.
 * - 4 (2026-12-01): hello.policy, the host's own policy (what any server may ask of it: remote
 *   hooks, restore targets, backup paths, repositories); config.update.secrets_withheld (no
 *   secrets over an unencrypted link); tls.fingerprints (server → agent: the certificate now and
 *   next, for pinned agents). All optional or sent only to version 4: versions 1 to 3 are served.
 * - 5 (2026-12-02): config.update.auto_init (initialise a repository that does not exist yet
 *   before the first backup). Optional, and kept by the agent like the other settings (absent
 *   leaves it as is); an older agent drops the unknown field. Versions 1 to 4 are served.
 * - 6 (2026-12-02): repo.missing (agent → server): the reports after a job found no repository,
 *   so a succeeded backup's snapshot is gone and the server turns the job failed. A server of
 *   protocol 5 or older refuses the unknown type as invalid, and the agent drops it. Versions 1
 *   to 5 are served.
 * - 7 (2026-12-02): restore confidence. Browse (files.list → files.listed) and download
 *   (download.start, .credit, .cancel → download.begin, .chunk, .end, credit-based flow control;
 *   download.chunk is the protocol's one binary frame, chunk-frame.ts),
 *   both live and never kept in the outbox; job kind `drill` with its spec; the restore spec's
 *   `verify` (absent: true). The server sends none of these to an agent before 7 (it refuses the
 *   request instead, and leaves drill schedules out of that agent's schedule.set). Versions 1 to 6
 *   are served.
 * - 8 (2026-12-02): snapshot actions and repository forms per backend. The forget spec's
 *   `snapshot_ids` (forget these snapshots of this host; then no `policy`, which became optional),
 *   job kind `tag` with its spec (set, add or remove one snapshot's tags), and snapshots.diff →
 *   snapshots.diffed (compare two snapshots, live like files.list); config.update.repo_env
 *   (restic's environment variables for the backend, protocol/repository-backends.ts) and
 *   repo.test → repo.tested (test a repository live on one host: reachable, initialised, password
 *   right, locks). The server sends none of these to an agent before 8: it refuses the request,
 *   naming the agent's protocol version, and sends it the backend's key pair as
 *   repo_username/repo_credential instead of repo_env. Versions 1 to 7 are served.
 * - 9 (2026-12-02): fleet operations (issue 18). Jitter: a schedule.set entry's `delay_seconds`,
 *   the host's stable offset in [0, jitter) for that schedule, computed by the server; the agent
 *   fires each tick that much later, and scheduled_at stays the nominal tick (so dedup holds).
 *   Copies to a second repository (3-2-1): config.update.copy_targets (further repositories,
 *   secrets as for the main one) and job kind `copy` with its spec (target_id, the target's
 *   retention policy, prune). Stdin backups: the backup spec's and the schedule entry's
 *   `stdin_command` (an argv array) and `stdin_filename`, to back up a command's output
 *   (`pg_dump mydb`) instead of paths. An agent of 1 to 8 is sent no delay (it fires at the
 *   nominal times), no copy targets and no stdin schedules; a copy job or a stdin run-now for it
 *   is refused naming its protocol version. Versions 1 to 8 are served.
 * - 10 (2026-12-03): backups go on when the server is down (issue 19, DESIGN §8.7).
 *   config.update.max_offline_age_seconds (how long the agent may run its backup schedules on its
 *   own while the link is down; 0: never); command.run's `schedule_id` and `scheduled_at` (the tick
 *   a job runs, for the agent's ledger of fires); job.started's `autonomous` (a backup the agent
 *   started on its own authority: the tick, the spec it ran, the ticks it let go by). The server
 *   stores such a job as a row with actor_kind "agent". An agent of 1 to 9 is sent none of these
 *   and never runs on its own; an agent of 10 whose server is older never gets
 *   max_offline_age_seconds, and so never runs on its own either. Versions 1 to 9 are served.
 */
export const PROTOCOL_VERSION = 10;

/** Versions this code base can speak; the server refuses a `hello` outside this list. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
