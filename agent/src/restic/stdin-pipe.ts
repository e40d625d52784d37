import type { Clock } from "../clock.ts";
import { errorText, type ProcessResult } from "./run-process.ts";
import { readLines } from "./spawn.ts";
import type { ChildLike, SpawnFn } from "./types.ts";

/** What the pipe needs from the job: the seams, and how its processes are attached and stopped. */
export interface PipeDeps {
  spawn: SpawnFn;
  clock: Clock;
  command: readonly string[];
  env: Record<string, string>;
  /** Runs `restic backup --stdin` reading `stdin`; onSpawn hands over restic's child. */
  runRestic: (stdin: ReadableStream<Uint8Array>, onSpawn: (child: ChildLike) => void) => Promise<ProcessResult>;
  /** The job's hold on a child: job.started, and a cancel reaches it. */
  attach: (child: ChildLike) => void;
  detach: (child: ChildLike) => void;
  /** SIGINT, then SIGKILL after the job's grace period. */
  stop: (child: ChildLike) => void;
  /** One stderr line of the command, for the job log. */
  onStderr: (line: string) => void;
  cancelRequested: () => boolean;
}

export type CommandResult = { started: true; exitCode: number } | { started: false; error: string };

export interface PipeResult {
  command: CommandResult;
  /** null when the command could not start (restic did not run). */
  restic: ProcessResult | null;
  /** The command's last stderr lines (the job log has all of them). */
  stderrTail: string[];
}

// As run-process.ts: a grandchild holding the command's stderr open must not hold the job.
const DRAIN_AFTER_EXIT_MS = 2000;
const TAIL_KEEP = 20;

/**
 * The agent's own stdin backup, for restic without --stdin-from-command: the command's stdout
 * becomes restic's stdin, one chunk at a time as restic asks for it (Bun pulls the stream as the
 * pipe drains: a 1 GiB stream stayed at about 64 MiB RSS). The end of the stream is held back until
 * the command has exited: with exit 0 the stream ends and restic saves its snapshot; otherwise
 * (a failure, a kill, a cancel) restic is stopped before it sees an end, so no snapshot of a
 * truncated stream is ever saved. When restic ends first, the command is stopped.
 */
export async function runPiped(d: PipeDeps): Promise<PipeResult> {
  let cmd: ChildLike;
  try {
    cmd = d.spawn([...d.command], { env: d.env });
  } catch (err) {
    return { command: { started: false, error: errorText(err) }, restic: null, stderrTail: [] };
  }
  d.attach(cmd);
  const stderrTail: string[] = [];
  const abort = new AbortController();
  const stderrRead = readLines(
    cmd.stderr,
    (line) => {
      d.onStderr(line);
      stderrTail.push(line);
      if (stderrTail.length > TAIL_KEEP) stderrTail.shift();
    },
    abort.signal,
  ).catch(() => {});
  let commandEnded = false;
  const commandExit = cmd.exited
    .catch(() => -1)
    .then((code) => {
      commandEnded = true;
      return code;
    });
  let restic: ChildLike | null = null;
  let resticEnded = () => {};
  const resticGone = new Promise<void>((resolve) => {
    resticEnded = resolve;
  });
  const reader = cmd.stdout.getReader();
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
        if (!chunk.done) {
          controller.enqueue(chunk.value);
          return;
        }
        const code = await commandExit;
        if (code === 0 && !d.cancelRequested()) {
          controller.close();
          return;
        }
        // Never an end of stream here: restic would save what it has read as a snapshot.
        if (restic) d.stop(restic);
        await resticGone;
        controller.error(new Error("the stdin command failed"));
      },
      cancel() {
        void reader.cancel().catch(() => {});
      },
    },
    // Nothing read ahead: restic's pipe is the only buffer, so memory stays bounded.
    { highWaterMark: 0 },
  );
  const result = await d.runRestic(stream, (child) => {
    restic = child;
  });
  resticEnded();
  if (!commandEnded) {
    // restic failed or was stopped while the command still writes: it must not block on a full pipe.
    void reader.cancel().catch(() => {});
    d.stop(cmd);
  }
  const exitCode = await commandExit;
  await drained(stderrRead, d.clock);
  abort.abort();
  await stderrRead;
  d.detach(cmd);
  return { command: { started: true, exitCode }, restic: result, stderrTail };
}

async function drained(reading: Promise<void>, clock: Clock): Promise<void> {
  let timer: ReturnType<Clock["setTimeout"]> | undefined;
  const timedOut = new Promise<void>((resolve) => {
    timer = clock.setTimeout(resolve, DRAIN_AFTER_EXIT_MS);
  });
  await Promise.race([reading, timedOut]);
  if (timer) clock.clearTimeout(timer);
}
