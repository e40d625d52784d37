import type { Clock } from "../clock.ts";
import { readLines } from "./spawn.ts";
import type { ChildInput, ChildLike, SpawnFn } from "./types.ts";

export interface RunProcessOptions {
  spawn: SpawnFn;
  argv: string[];
  env: Record<string, string>;
  cwd?: string;
  /** What the process reads on stdin (a stdin backup's stream); absent, nothing. */
  stdin?: ChildInput;
  onStdout: (line: string) => void;
  onStderr: (line: string) => void;
  /** Called right after the process started; the supervisor keeps the child to signal it. */
  onSpawn?: (child: ChildLike) => void;
  /** With a clock, output is drained for at most DRAIN_AFTER_EXIT_MS once the process exited. */
  clock?: Clock;
}

export type ProcessResult = { started: true; exitCode: number } | { started: false; exitCode: -1; error: string };

// A hook that starts a daemon (`svc start &`) leaves our pipes open in the grandchild; do not
// wait for it forever. 2 s is far more than any pipe needs to drain after its writer exited.
const DRAIN_AFTER_EXIT_MS = 2000;

/** Runs one process to its end, feeding every output line to the callbacks. Never throws. */
export async function runProcess(opts: RunProcessOptions): Promise<ProcessResult> {
  let child: ChildLike;
  try {
    child = opts.spawn(opts.argv, {
      env: opts.env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.stdin ? { stdin: opts.stdin } : {}),
    });
  } catch (err) {
    return { started: false, exitCode: -1, error: errorText(err) };
  }
  opts.onSpawn?.(child);
  const abort = new AbortController();
  const reading = Promise.all([
    readLines(child.stdout, opts.onStdout, abort.signal),
    readLines(child.stderr, opts.onStderr, abort.signal),
  ]).catch(() => {});
  const exitCode = await child.exited.catch(() => -1);
  const clock = opts.clock;
  if (clock) {
    let timer: ReturnType<Clock["setTimeout"]> | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, DRAIN_AFTER_EXIT_MS);
    });
    await Promise.race([reading, timedOut]);
    if (timer) clock.clearTimeout(timer);
    abort.abort();
  }
  await reading;
  return { started: true, exitCode };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
