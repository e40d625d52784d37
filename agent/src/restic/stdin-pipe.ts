import { randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Clock } from "../clock.ts";
import { errorText, type ProcessResult } from "./run-process.ts";
import { readLines } from "./spawn.ts";
import type { ChildInput, ChildLike, SpawnFn } from "./types.ts";

/** What the pipe needs from the job: the seams, and how its processes are attached and stopped. */
export interface PipeDeps {
  spawn: SpawnFn;
  clock: Clock;
  command: readonly string[];
  env: Record<string, string>;
  /** Runs `restic backup --stdin` reading `stdin`; onSpawn hands over restic's child. */
  runRestic: (stdin: ChildInput, onSpawn: (child: ChildLike) => void) => Promise<ProcessResult>;
  /** Where a FIFO may go (the agent's private temp dir); absent, the stream is piped through the agent. */
  fifoDir?: string;
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
 * becomes restic's stdin, and the end of the stream is held back until the command has exited.
 * With exit 0 the stream ends and restic saves its snapshot; otherwise (a failure, a kill, a
 * cancel) restic is stopped before it sees an end, so no snapshot of a truncated stream is ever
 * saved. When restic ends first, the command is stopped.
 *
 * On POSIX the bytes go through a FIFO in the agent's private temp dir, from the command straight
 * into restic: the agent copies nothing and holds the end of the stream by keeping the FIFO open
 * for writing itself (the kernel sends restic EOF only when every writer has closed it). Elsewhere
 * (Windows, or no mkfifo) the agent pulls the command's stdout into restic's stdin one chunk at a
 * time as restic's pipe drains (memory stays bounded: a 1 GiB stream stayed at about 64 MiB RSS,
 * but the copy cost about a third of restic's throughput on 2 cores).
 */
export async function runPiped(d: PipeDeps): Promise<PipeResult> {
  const fifo = d.fifoDir ? makeFifo(d.fifoDir) : null;
  if (!fifo) return viaStream(d);
  try {
    return await viaFifo(d, fifo);
  } finally {
    await rm(fifo, { force: true }).catch(() => {});
  }
}

/** The command, started with its stderr read into the job log and its exit watched. */
function startCommand(d: PipeDeps, stdoutTo?: { path: string }) {
  let cmd: ChildLike;
  try {
    cmd = d.spawn([...d.command], { env: d.env, ...(stdoutTo ? { stdoutTo } : {}) });
  } catch (err) {
    return { started: false as const, error: errorText(err) };
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
  const state = { ended: false };
  const exit = cmd.exited
    .catch(() => -1)
    .then((code) => {
      state.ended = true;
      return code;
    });
  const finish = async (restic: ProcessResult): Promise<PipeResult> => {
    if (!state.ended) d.stop(cmd);
    const exitCode = await exit;
    await drained(stderrRead, d.clock);
    abort.abort();
    await stderrRead;
    d.detach(cmd);
    return { command: { started: true, exitCode }, restic, stderrTail };
  };
  return { started: true as const, cmd, exit, state, finish };
}

async function viaFifo(d: PipeDeps, fifo: string): Promise<PipeResult> {
  // Opened for reading and writing: a writer that keeps restic from seeing an end, and a reader,
  // so neither child's open of the FIFO waits for the other. Not inherited (O_CLOEXEC).
  let hold: number | null = openSync(fifo, "r+");
  const release = () => {
    if (hold !== null) closeSync(hold);
    hold = null;
  };
  try {
    const command = startCommand(d, { path: fifo });
    if (!command.started) return { command, restic: null, stderrTail: [] };
    let restic: ChildLike | null = null;
    const resticRun = d.runRestic({ path: fifo }, (child) => {
      restic = child;
    });
    const first = await Promise.race([
      command.exit.then(() => "command" as const),
      resticRun.then(() => "restic" as const),
    ]);
    if (first === "command") {
      const code = await command.exit;
      if (code === 0 && !d.cancelRequested()) release();
      else if (restic) d.stop(restic);
    }
    const result = await resticRun;
    // restic is gone: with the FIFO closed, a command still writing gets EPIPE instead of blocking.
    release();
    return await command.finish(result);
  } finally {
    release();
  }
}

async function viaStream(d: PipeDeps): Promise<PipeResult> {
  const command = startCommand(d);
  if (!command.started) return { command, restic: null, stderrTail: [] };
  const { cmd, exit } = command;
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
        const code = await exit;
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
  // restic failed or was stopped while the command still writes: it must not block on a full pipe.
  if (!command.state.ended) void reader.cancel().catch(() => {});
  return command.finish(result);
}

/** A fresh FIFO (mode 0600) in dir, or null where there is none (Windows, no mkfifo). */
function makeFifo(dir: string): string | null {
  if (process.platform === "win32") return null;
  const path = join(dir, `rf-stdin-${randomBytes(12).toString("hex")}`);
  try {
    const made = Bun.spawnSync(["mkfifo", "-m", "600", "--", path], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
    return made.exitCode === 0 ? path : null;
  } catch {
    return null;
  }
}

async function drained(reading: Promise<void>, clock: Clock): Promise<void> {
  let timer: ReturnType<Clock["setTimeout"]> | undefined;
  const timedOut = new Promise<void>((resolve) => {
    timer = clock.setTimeout(resolve, DRAIN_AFTER_EXIT_MS);
  });
  await Promise.race([reading, timedOut]);
  if (timer) clock.clearTimeout(timer);
}
