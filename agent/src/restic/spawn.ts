import type { ChildLike, SpawnFn } from "./types.ts";

/**
 * The real spawn: Bun.spawn with both output streams piped and no stdin (restic must never
 * prompt), unless a stream is given: Bun pulls it as the pipe drains, so memory stays bounded.
 */
export const bunSpawn: SpawnFn = (argv, opts) => {
  const stdin = opts.stdin === undefined ? "ignore" : "path" in opts.stdin ? Bun.file(opts.stdin.path) : opts.stdin;
  const proc = Bun.spawn(argv, {
    env: opts.env,
    cwd: opts.cwd,
    stdin,
    stdout: opts.stdoutTo ? Bun.file(opts.stdoutTo.path) : "pipe",
    stderr: "pipe",
  });
  const child: ChildLike = {
    // With stdout elsewhere, the agent reads nothing from it: an empty stream.
    stdout: proc.stdout instanceof ReadableStream ? proc.stdout : emptyStream(),
    stderr: proc.stderr,
    exited: proc.exited,
    pid: proc.pid,
    kill(signal) {
      proc.kill(signal);
    },
  };
  return child;
};

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.close();
    },
  });
}

// A restic status line holds `current_files`; a line longer than this is cut, never a frame-buster.
const MAX_LINE_CHARS = 16 * 1024;

/**
 * Reads a byte stream as text lines (LF, CRLF or a lone CR, which progress bars use) and calls
 * onLine for each, in order. It reads one chunk at a time and only when asked, so the caller
 * has handled every line of a chunk before the next read starts.
 */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const reader = stream.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", stop, { once: true });
  const decoder = new TextDecoder();
  let pending = "";
  const emitLines = (final: boolean) => {
    const parts = pending.split(/\r\n|\n|\r/);
    pending = final ? "" : (parts.pop() ?? "");
    for (const part of parts) {
      const line = cut(part);
      if (line.length > 0) onLine(line);
    }
    // A line with no end in sight still has to go somewhere: flush it in slices.
    while (pending.length > MAX_LINE_CHARS) {
      onLine(cut(pending));
      pending = pending.slice(MAX_LINE_CHARS);
    }
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      emitLines(false);
    }
    pending += decoder.decode();
    emitLines(true);
  } catch (err) {
    if (!signal?.aborted) throw err;
  } finally {
    signal?.removeEventListener("abort", stop);
    reader.releaseLock();
  }
}

// Terminal control sequences (restic 0.18 clears its status line with ESC[2K even into a pipe).
const ANSI_ESCAPE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, "g");

function cut(raw: string): string {
  const line = raw.replace(ANSI_ESCAPE, "");
  return line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)} …[cut]` : line;
}
