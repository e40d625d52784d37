import type { Clock } from "../clock.ts";
import { type ProcessResult, runProcess } from "./run-process.ts";
import { copyEnv, removeSecretFile, resticEnv, writePasswordFile } from "./secrets.ts";
import type { ChildInput, ChildLike, RepoConfig, SpawnFn } from "./types.ts";

export interface ResticSessionOptions {
  resticPath: string;
  repo: RepoConfig;
  spawn: SpawnFn;
  /** Where the password file goes (mode 0600, removed by close()). */
  tempDir: string;
  /** RESTIC_CACHE_DIR; restic's own default (~/.cache/restic) when absent. */
  cacheDir?: string;
  /** With a clock, output is drained for at most 2 s once restic exited (run-process.ts). */
  clock?: Clock;
  /**
   * A copy job's source: then `repo` is the copy target, and this repository goes into restic's
   * environment as the one to copy from (secrets.ts copyEnv), its password in a second file.
   */
  from?: RepoConfig;
}

export interface ResticHandlers {
  onStdout: (line: string) => void;
  onStderr: (line: string) => void;
  /** Called right after restic started, e.g. to keep the child for a cancel. */
  onSpawn?: (child: ChildLike) => void;
  /** restic's stdin (`backup --stdin`); absent, nothing. */
  stdin?: ChildInput;
}

/**
 * One repository opened for restic runs. The password sits in a fresh 0600 file that restic finds
 * through RESTIC_PASSWORD_FILE: never on a command line (ps shows those) nor in a log line. Every
 * restic the agent starts goes through a session; close() removes the file.
 */
export interface ResticSession {
  /** restic's environment (secrets.ts): the repository, the password file, the backend's credentials. */
  readonly env: Readonly<Record<string, string>>;
  /** The argv run() starts for args, for the "$ restic ..." log line. */
  argv(args: readonly string[]): string[];
  /** Runs `restic ...args` to its end, feeding every output line to the handlers. Never throws. */
  run(args: readonly string[], handlers: ResticHandlers): Promise<ProcessResult>;
  /** Removes the password file; safe to call more than once. */
  close(): Promise<void>;
}

/** Writes the password file and builds restic's env; throws when the file cannot be written. */
export async function openResticSession(o: ResticSessionOptions): Promise<ResticSession> {
  let files: string[] = [await writePasswordFile(o.tempDir, o.repo.repo_password)];
  const close = async () => {
    const done = files;
    files = [];
    await Promise.all(done.map((f) => removeSecretFile(f)));
  };
  const file = files[0] as string;
  let env: Record<string, string>;
  if (o.from) {
    const fromFile = await writePasswordFile(o.tempDir, o.from.repo_password).catch(async (err) => {
      await close();
      throw err;
    });
    files.push(fromFile);
    const made = copyEnv(o.repo, file, o.from, fromFile, { cacheDir: o.cacheDir });
    if (!made.ok) {
      await close();
      throw new SessionRefused(made.error);
    }
    env = made.env;
  } else {
    env = resticEnv(o.repo, file, { cacheDir: o.cacheDir });
  }
  const argv = (args: readonly string[]) => [o.resticPath, ...args];
  return {
    env,
    argv,
    run: (args, handlers) => runProcess({ spawn: o.spawn, clock: o.clock, argv: argv(args), env, ...handlers }),
    close,
  };
}

/** The session's settings cannot be served (copyEnv's clash of two backends' variables). */
export class SessionRefused extends Error {}

/** Opens a session for fn and closes it afterwards, whatever fn does. */
export async function withResticSession<T>(
  o: ResticSessionOptions,
  fn: (session: ResticSession) => Promise<T>,
): Promise<T> {
  const session = await openResticSession(o);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
