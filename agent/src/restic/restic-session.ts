import type { Clock } from "../clock.ts";
import { type ProcessResult, runProcess } from "./run-process.ts";
import { removeSecretFile, resticEnv, writePasswordFile } from "./secrets.ts";
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
  let file: string | null = await writePasswordFile(o.tempDir, o.repo.repo_password);
  const env = resticEnv(o.repo, file, { cacheDir: o.cacheDir });
  const argv = (args: readonly string[]) => [o.resticPath, ...args];
  return {
    env,
    argv,
    run: (args, handlers) => runProcess({ spawn: o.spawn, clock: o.clock, argv: argv(args), env, ...handlers }),
    async close() {
      const done = file;
      file = null;
      await removeSecretFile(done);
    },
  };
}

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
