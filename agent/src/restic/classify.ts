import type { FailureReason } from "./types.ts";

export interface Failure {
  reason: FailureReason;
  /** One clear sentence for an operator. */
  summary: string;
  /** The summary plus the stderr tail: what job.finished carries as `error`. */
  error: string;
}

/** How many stderr lines end up in a job's error text. */
export const STDERR_TAIL_LINES = 5;

const RULES: ReadonlyArray<{ reason: FailureReason; test: RegExp; summary: string }> = [
  {
    reason: "wrong_password",
    test: /wrong password or no key found|an empty password is not a password/i,
    summary: "The repository password is wrong (restic found no key that opens it).",
  },
  {
    reason: "repo_missing",
    test: /unable to open config file|repository does not exist|is there a repository at the following location/i,
    summary: "There is no restic repository at the configured location; run an init job to create it.",
  },
  {
    reason: "locked",
    test: /repository is already locked|unable to create lock|failed to lock repository/i,
    summary: "The repository is locked by another restic process; if none is running, run an unlock job.",
  },
  {
    reason: "paths_missing",
    test: /all (target|source) directories\/files do not exist/i,
    summary: "None of the backup paths exist on this host.",
  },
  {
    reason: "snapshot_missing",
    test: /no snapshot found|no matching ID found|failed to find snapshot/i,
    summary:
      "No snapshot of this host matches: for latest, the host has no snapshot in the repository yet (snapshots an older agent made may carry the machine's hostname: restore those by id).",
  },
  {
    reason: "network",
    test: /connection refused|no such host|i\/o timeout|timed? ?out|network is unreachable|connection reset|no route to host|tls handshake|dial tcp|server misbehaving/i,
    summary: "restic could not reach the repository over the network.",
  },
];

// restic >= 0.17 has distinct exit codes (12 from 0.17.1); 0.14-0.16 exit 1 for every failure, so
// the stderr text decides there. 0.14 never exits 10-12, so the table needs no version check.
const BY_EXIT_CODE: Readonly<Record<number, FailureReason>> = {
  10: "repo_missing",
  11: "locked",
  12: "wrong_password",
};

/**
 * Classifies a failed restic run from the tail of its stderr (already redacted) and its exit
 * code. Pure: the same input always gives the same text.
 */
export function classifyFailure(stderrTail: string[], exitCode: number, exitErrorCode?: number): Failure {
  const text = stderrTail.join("\n");
  // 0.18 with --json also prints the code in its exit_error line; the process's own code first.
  const byCode = BY_EXIT_CODE[exitCode] ?? (exitErrorCode === undefined ? undefined : BY_EXIT_CODE[exitErrorCode]);
  const rule = byCode ? RULES.find((r) => r.reason === byCode) : RULES.find((r) => r.test.test(text));
  const summary = rule?.summary ?? unknownSummary(exitCode);
  const tail = stderrTail
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0)
    .slice(-STDERR_TAIL_LINES);
  return {
    reason: rule?.reason ?? "unknown",
    summary,
    error: tail.length > 0 ? `${summary}\n${tail.join("\n")}` : summary,
  };
}

function unknownSummary(exitCode: number): string {
  if (exitCode === 130) return "restic was interrupted (exit code 130: SIGINT or SIGTERM, e.g. a shutdown).";
  if (exitCode > 128) return `restic was killed by signal ${exitCode - 128} (exit code ${exitCode}).`;
  return `restic failed with exit code ${exitCode}.`;
}

/** What a probe of the repository (`restic cat config`, argv.ts repoProbeArgv) found. */
export type RepositoryPresence = "exists" | "missing" | "unknown";

// restic 0.14-0.16 print "unable to open config file: <error>" (exit 1) for ANY failure to stat the
// config: also for a REST server that refuses the connection. Only the backends' own "not there"
// texts count as missing: local (Linux, Windows), sftp, rest ("<config/> does not exist"), s3, gs,
// azure, swift, b2.
const CONFIG_NOT_THERE =
  /unable to open config file: .*(no such file or directory|cannot find the (file|path) specified|does not exist|doesn't exist|not found|NoSuchKey|NoSuchBucket)/i;

/**
 * Whether the probe says the repository exists, is missing, or neither (a wrong password, a lock,
 * the network: anything else). "missing" only when restic says so: exit code 10 on restic >= 0.17
 * (or its exit_error line's code), on 0.14-0.16 the not-found text above. Pure.
 */
export function repositoryPresence(stderrTail: string[], exitCode: number, exitErrorCode?: number): RepositoryPresence {
  if (exitCode === 0) return "exists";
  if (exitCode === 10 || (exitCode === 1 && exitErrorCode === 10)) return "missing";
  if (exitCode !== 1 || exitErrorCode !== undefined) return "unknown";
  return stderrTail.some((line) => CONFIG_NOT_THERE.test(line)) ? "missing" : "unknown";
}
