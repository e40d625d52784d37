import { type BackupSpec, stdinCommandProblem, stdinFilenameProblem } from "../../../protocol/index.ts";
import { baseEnv } from "./secrets.ts";
import type { ResticFeatures } from "./types.ts";
import type { Checked } from "./validate.ts";

/**
 * A backup whose source is a command's output (`pg_dump mydb`), stored in the snapshot as one
 * file. Two ways to run it, by restic version:
 * - restic >= 0.17 runs the command itself (`backup --stdin-from-command -- CMD ARGS`) and fails
 *   the backup, saving no snapshot, when the command fails (measured on 0.18: exit 1, "command
 *   failed: exit status N").
 * - older restic (Debian's 0.14) reads `backup --stdin`: the agent starts the command and pipes
 *   its stdout into restic (stdin-pipe.ts), holding back the end of the stream until the command's
 *   exit status is known. A failed command never lets restic see the end of its input: restic
 *   is interrupted instead, and saves no snapshot (a truncated dump would otherwise become one).
 * The command is an argv array, run without a shell; either way it sees the environment a hook
 * sees (the agent's, without RESTIC_* and RF_*, plus RF_JOB_ID and RF_JOB_KIND).
 */
export interface StdinInput {
  command: string[];
  filename: string;
}

/** restic's own default for --stdin-filename. */
export const DEFAULT_STDIN_FILENAME = "stdin";

/** The spec's stdin source, checked; null for a backup of paths. */
export function stdinInput(spec: BackupSpec | undefined): Checked<StdinInput | null> {
  const command = spec?.stdin_command;
  if (command === undefined) {
    if (spec?.stdin_filename !== undefined) {
      return { ok: false, error: "stdin_filename is only for a backup of a command's output (stdin_command)" };
    }
    return { ok: true, value: null };
  }
  const problem = stdinCommandProblem(command);
  if (problem) return { ok: false, error: `stdin_command: ${problem}` };
  if (spec?.paths?.length) return { ok: false, error: "a backup reads paths or a command's output, not both" };
  if (spec?.excludes?.length) return { ok: false, error: "excludes are for paths: a stdin backup has none" };
  const filename = spec?.stdin_filename ?? DEFAULT_STDIN_FILENAME;
  const bad = stdinFilenameProblem(filename);
  if (bad) return { ok: false, error: `stdin_filename ${JSON.stringify(filename)} ${bad}` };
  return { ok: true, value: { command: [...command], filename } };
}

/**
 * Whether restic runs the command (--stdin-from-command), else the agent pipes it. Not on
 * Windows: restic hands the command its own environment (the repository, the password file, the
 * backend's keys), and only a POSIX `env -u` can take those away again (stdinCommandArgv).
 */
export function resticRunsCommand(features: ResticFeatures, platform: NodeJS.Platform = process.platform): boolean {
  return features.stdinFromCommand === true && platform !== "win32";
}

/** The environment the command runs with when the agent starts it: a hook's, minus the phase. */
export function stdinCommandEnv(jobId: string, parent: Record<string, string | undefined> = process.env) {
  const env = baseEnv(parent);
  env.RF_JOB_ID = jobId;
  env.RF_JOB_KIND = "backup";
  return env;
}

// POSIX puts env here on every system this agent runs on (Linux, macOS); no PATH lookup.
const ENV_PROGRAM = "/usr/bin/env";

/**
 * What restic >= 0.17 runs after its `--`: restic starts the command with restic's own
 * environment (0.18: RESTIC_REPOSITORY, RESTIC_PASSWORD_FILE and the backend's keys were all
 * visible to it), so `env -u` removes every variable the agent gave restic, then sets the
 * job's two variables, so that the command sees what it would see on the pipe path. Only names
 * and the job id go on the command line, never a value of a secret.
 */
export function stdinCommandArgv(
  command: readonly string[],
  resticEnv: Readonly<Record<string, string>>,
  jobId: string,
  parent: Record<string, string | undefined> = process.env,
): string[] {
  const base = baseEnv(parent);
  const own = Object.keys(resticEnv)
    .filter((name) => base[name] !== resticEnv[name])
    .sort();
  return [
    ENV_PROGRAM,
    ...own.flatMap((name) => ["-u", name]),
    "--",
    `RF_JOB_ID=${jobId}`,
    "RF_JOB_KIND=backup",
    ...command,
  ];
}

/** restic (>= 0.17) prefixes each stderr line of the command with this. */
export function subprocessPrefix(resticCommand: readonly string[]): string {
  return `subprocess ${resticCommand[0] ?? ""}: `;
}

/**
 * restic >= 0.17's verdict on the command, from the stderr tail: null when the command did not
 * fail (restic failed on its own), else what restic said ("exit status 3", "signal: killed") and
 * the command's own stderr lines, without restic's prefix.
 */
export function resticCommandFailure(stderrTail: readonly string[], prefix: string) {
  let verdict: string | null = null;
  for (const line of stderrTail) {
    const m = /(?:command failed|failed to start command): (.+)$/.exec(line);
    if (m?.[1]) verdict = m[1];
  }
  if (verdict === null) return null;
  const lines = stderrTail.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
  return { verdict, lines };
}

/** The job's error for a failed command: what failed, that no snapshot was saved, its last stderr lines. */
export function commandFailedError(command: readonly string[], verdict: string, stderrLines: readonly string[]) {
  const head = `the stdin command ${command[0] ?? ""} failed (${verdict}); no snapshot was saved`;
  const tail = stderrLines.slice(-STDERR_LINES);
  return tail.length ? `${head}\n${tail.join("\n")}` : `${head} (it printed nothing on stderr)`;
}

/** The command's last stderr lines in the job's error (all of them are in the job log). */
const STDERR_LINES = 10;
