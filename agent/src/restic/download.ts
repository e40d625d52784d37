import type { DownloadStartPayload, RequestError } from "../../../protocol/index.ts";
import { MAX_CHUNK_BYTES } from "../../../protocol/index.ts";
import type { Clock, TimerHandle } from "../clock.ts";
import { dumpArgv } from "./argv.ts";
import { lookupNode } from "./browse.ts";
import { type LiveRun, stoppable } from "./live-run.ts";
import { ResticStderr } from "./restic-stderr.ts";
import { readLines } from "./spawn.ts";
import type { ChildLike } from "./types.ts";

/** Raw bytes per download.chunk: 256 KiB (about 341 KiB as base64), half of MAX_CHUNK_BYTES. */
export const CHUNK_BYTES = Math.min(256 * 1024, MAX_CHUNK_BYTES);
/**
 * How long a download waits for credit before it gives up. The server passes chunks on to a
 * browser as fast as it reads; 5 min without any credit means nobody is reading any more.
 */
export const CREDIT_STALL_MS = 5 * 60_000;

/**
 * The download's flow control: `window` chunks may be unacknowledged, each download.credit allows
 * `chunks` more. take() waits for one credit; while it waits nothing reads restic's stdout, so
 * restic blocks on its pipe and memory stays bounded whatever the file's size.
 */
export class CreditGate {
  #available: number;
  #sent = 0;
  #maxOutstanding = 0;
  #granted: number;
  #waiter: ((why: "ok" | "aborted" | "stalled") => void) | null = null;
  #waitingWatchers: Array<() => void> = [];

  constructor(
    readonly window: number,
    private readonly clock: Clock,
    readonly stallMs = CREDIT_STALL_MS,
  ) {
    this.#available = window;
    this.#granted = window;
  }

  /** Chunks sent and not yet acknowledged by credit. */
  get outstanding(): number {
    return this.#sent - (this.#granted - this.window);
  }

  /** The most chunks that were ever unacknowledged at once: never more than the window. */
  get maxOutstanding(): number {
    return this.#maxOutstanding;
  }

  /** Whether a take() is waiting for credit (so nothing reads restic's stdout now). */
  get waiting(): boolean {
    return this.#waiter !== null;
  }

  /** Resolves when a take() is (or next is) waiting for credit: the tests' signal, not a sleep. */
  whenWaiting(): Promise<void> {
    if (this.waiting) return Promise.resolve();
    return new Promise((resolve) => this.#waitingWatchers.push(resolve));
  }

  grant(chunks: number): void {
    this.#available += chunks;
    this.#granted += chunks;
    this.#wake("ok");
  }

  /** Waits for one credit and spends it; "aborted" or "stalled" (no credit for stallMs) otherwise. */
  async take(signal: AbortSignal): Promise<"ok" | "aborted" | "stalled"> {
    while (this.#available <= 0) {
      if (signal.aborted) return "aborted";
      let timer: TimerHandle | null = null;
      const onAbort = () => this.#wake("aborted");
      signal.addEventListener("abort", onAbort, { once: true });
      const why = await new Promise<"ok" | "aborted" | "stalled">((resolve) => {
        this.#waiter = resolve;
        timer = this.clock.setTimeout(() => this.#wake("stalled"), this.stallMs);
        for (const w of this.#waitingWatchers.splice(0)) w();
      });
      signal.removeEventListener("abort", onAbort);
      if (timer) this.clock.clearTimeout(timer);
      if (why !== "ok") return why;
    }
    if (signal.aborted) return "aborted";
    this.#available -= 1;
    this.#sent += 1;
    this.#maxOutstanding = Math.max(this.#maxOutstanding, this.outstanding);
    return "ok";
  }

  #wake(why: "ok" | "aborted" | "stalled"): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.(why);
  }
}

export interface PumpResult {
  bytes: number;
  chunks: number;
  /** eof: the stream ended; link_down: a chunk could not be sent. */
  stop: "eof" | "aborted" | "stalled" | "link_down";
  /** The most bytes read from the stream and not yet sent, at any time. */
  maxHeldBytes: number;
}

/**
 * Reads a byte stream into chunks of chunkBytes (the last one shorter) and sends each with the
 * next seq once the gate gives credit. A chunk is complete before credit is asked for, and the
 * stream is not read while waiting, so at most one chunk (plus the rest of one read) is held here.
 */
export async function pumpChunks(o: {
  stream: ReadableStream<Uint8Array>;
  gate: CreditGate;
  signal: AbortSignal;
  chunkBytes?: number;
  send: (seq: number, data: Uint8Array) => boolean;
}): Promise<PumpResult> {
  const size = o.chunkBytes ?? CHUNK_BYTES;
  const reader = o.stream.getReader();
  const cancelRead = () => void reader.cancel().catch(() => {});
  o.signal.addEventListener("abort", cancelRead, { once: true });
  const parts: Uint8Array[] = [];
  let held = 0;
  const r: PumpResult = { bytes: 0, chunks: 0, stop: "eof", maxHeldBytes: 0 };
  try {
    let eof = false;
    while (!eof || held > 0) {
      while (!eof && held < size) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
        if (o.signal.aborted) r.stop = "aborted";
        if (r.stop !== "eof") return r;
        if (done) eof = true;
        else if (value.length > 0) {
          parts.push(value);
          held += value.length;
          r.maxHeldBytes = Math.max(r.maxHeldBytes, held);
        }
      }
      if (held === 0) break;
      const chunk = takeBytes(parts, Math.min(size, held));
      held -= chunk.length;
      const credit = await o.gate.take(o.signal);
      if (credit !== "ok") {
        r.stop = credit;
        return r;
      }
      if (!o.send(r.chunks, chunk)) {
        r.stop = "link_down";
        return r;
      }
      r.chunks += 1;
      r.bytes += chunk.length;
      collectAfter(chunk.length);
    }
    return r;
  } finally {
    o.signal.removeEventListener("abort", cancelRead);
    // Stopped early: closing our end of the pipe also ends a restic blocked on writing to it.
    if (r.stop !== "eof") cancelRead();
    reader.releaseLock();
  }
}

/** The first n bytes of parts, removed from them (parts hold at least n). */
function takeBytes(parts: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let filled = 0;
  while (filled < n) {
    const head = parts[0] as Uint8Array;
    const need = n - filled;
    if (head.length <= need) {
      out.set(head, filled);
      filled += head.length;
      parts.shift();
    } else {
      out.set(head.subarray(0, need), filled);
      parts[0] = head.subarray(need);
      filled = n;
    }
  }
  return out;
}

/**
 * Bytes passed on, over all downloads, between two collections of the agent's heap. Every chunk
 * leaves its copies behind (the pipe's reads, the chunk, the frame), and Bun's collector let a
 * 50 MB download grow the agent by more than 32 MB before it ran (e2e/snapshot-files, 2026-12-02);
 * every 16 MiB it grew by 24-30 MB, every 4 MiB by 17-21 MB. The agent's heap is small (a few MB),
 * so a collection costs it little; the server, whose heap holds a fleet, does not do this.
 */
const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;
let sinceCollect = 0;

function collectAfter(bytes: number): void {
  sinceCollect += bytes;
  if (sinceCollect < COLLECT_EVERY_BYTES) return;
  sinceCollect = 0;
  Bun.gc(true);
}

/** How a download's frames leave: live-only, so each says whether the link took it. */
export interface DownloadSink {
  begin(p: { type: "file" | "dir"; name: string; size?: number } | { error: RequestError }): boolean;
  chunk(seq: number, data: Uint8Array): boolean;
  end(p: { bytes: number; exit_code?: number; error?: RequestError }): boolean;
}

/** What a download did, for its log line and the tests' bounds. */
export interface DownloadReport {
  bytes: number;
  chunks: number;
  maxOutstanding: number;
  maxHeldBytes: number;
  exitCode?: number;
  error?: RequestError;
}

/**
 * One download: the node is looked up first (`ls`, which also proves whose snapshot it is), then
 * download.begin says what comes, `restic dump` of the full id streams it as chunks under the
 * gate's credit, and download.end closes it. Never throws; the dump process has exited when this
 * returns (a cancel stops it: SIGINT, then SIGKILL).
 */
export async function runDownload(
  run: LiveRun,
  req: Pick<DownloadStartPayload, "path">,
  gate: CreditGate,
  sink: DownloadSink,
): Promise<DownloadReport> {
  const report: DownloadReport = { bytes: 0, chunks: 0, maxOutstanding: 0, maxHeldBytes: 0 };
  // An explicit id names one snapshot for good, so `dump` starts beside the lookup instead of
  // after it: restic's start (opening the repository, loading the index) is paid once, not twice
  // (bench 9). Nothing of its output is read, let alone sent, before the lookup has proved the
  // snapshot this host's and the path a file or folder; otherwise it is stopped unread. `latest`
  // waits for the lookup's full id, so a backup finishing in between cannot change the snapshot.
  const early = run.scope.snapshotId === "latest" ? null : startDump(run, run.scope.snapshotId, req.path);
  const fail = async (error: RequestError): Promise<DownloadReport> => {
    if (early && "stop" in early) await early.stop();
    sink.begin({ error });
    return { ...report, error };
  };
  const found = await lookupNode(run, req.path);
  if (!found.ok) return fail(found.error);
  const { snapshot, node } = found.value;
  const short = snapshot.short_id ?? snapshot.id.slice(0, 8);
  const isRoot = req.path === "/";
  if (!isRoot && !node)
    return fail({ code: "path_missing", message: `${req.path} does not exist in snapshot ${short}` });
  const type = isRoot || node?.type === "dir" ? "dir" : node?.type === "file" ? "file" : null;
  if (!type) {
    return fail({
      code: "failed",
      message: `${req.path} is a ${node?.type} in snapshot ${short}: only files and folders can be downloaded`,
    });
  }
  if (run.signal.aborted) return fail({ code: "cancelled", message: "the download was cancelled" });
  const name = isRoot ? `snapshot-${short}` : (node?.name ?? "download");
  if (!sink.begin(type === "file" ? { type, name, size: node?.size ?? 0 } : { type, name })) {
    if (early && "stop" in early) await early.stop();
    return report;
  }
  const dump = early ?? startDump(run, snapshot.id, req.path);
  if ("error" in dump) {
    sink.end({ bytes: 0, error: dump.error });
    return { ...report, error: dump.error };
  }
  let pumped: PumpResult;
  try {
    pumped = await pumpChunks({ stream: dump.child.stdout, gate, signal: dump.signal, send: sink.chunk });
  } finally {
    dump.release();
  }
  // At eof restic is exiting by itself (its stderr still to be read); otherwise it must not
  // outlive the download: SIGINT, then SIGKILL.
  const exitCode = pumped.stop === "eof" ? await dump.exited() : await dump.stop();
  const done: DownloadReport = {
    bytes: pumped.bytes,
    chunks: pumped.chunks,
    maxOutstanding: gate.maxOutstanding,
    maxHeldBytes: pumped.maxHeldBytes,
    exitCode,
  };
  const error = endError(pumped, exitCode, dump.stderr, run.signal.aborted, gate.stallMs);
  if (error) done.error = error;
  if (pumped.stop !== "link_down") sink.end({ bytes: pumped.bytes, exit_code: exitCode, ...(error ? { error } : {}) });
  return done;
}

/** A running `restic dump`: its stdout unread until pumped, its stderr kept (redacted) for errors. */
interface Dump {
  child: ChildLike;
  stderr: ResticStderr;
  /** Aborted when the request is (or when stop() runs): ends the stdout read. */
  signal: AbortSignal;
  /** Stops following the request's cancel (the pump is over). */
  release(): void;
  /** Waits for restic's own end; its exit code. */
  exited(): Promise<number>;
  /** Stops restic (SIGINT, then SIGKILL) and waits for it; its exit code. */
  stop(): Promise<number>;
}

/** Starts `restic dump` of path: a file comes as it is, a folder as a tar (`--archive` applies to folders only). */
function startDump(run: LiveRun, snapshot: string, path: string): Dump | { error: RequestError } {
  const stderr = new ResticStderr(run.redact);
  const { control, dispose } = stoppable(run);
  let child: ChildLike;
  try {
    child = run.spawn(run.session.argv(dumpArgv(snapshot, path, true)), { env: { ...run.session.env } });
  } catch (err) {
    dispose();
    return { error: { code: "failed", message: `could not start restic: ${run.redact(String(err))}` } };
  }
  control.attach(child);
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  run.signal.addEventListener("abort", onAbort, { once: true });
  const errors = readLines(child.stderr, stderr.push, abort.signal).catch(() => {});
  let ended: Promise<number> | null = null;
  const exited = () => {
    ended ??= (async () => {
      const code = await child.exited.catch(() => -1);
      await errors;
      dispose();
      return code;
    })();
    return ended;
  };
  const release = () => run.signal.removeEventListener("abort", onAbort);
  return {
    child,
    stderr,
    signal: abort.signal,
    release,
    exited,
    stop: () => {
      release();
      control.interrupt();
      abort.abort();
      // Unread, restic may be blocked on a full pipe: closing our end lets it see the stop at once.
      void child.stdout.cancel().catch(() => {});
      return exited();
    },
  };
}

function endError(
  p: PumpResult,
  exitCode: number,
  stderr: ResticStderr,
  cancelled: boolean,
  stallMs: number,
): RequestError | null {
  if (cancelled || p.stop === "aborted") return { code: "cancelled", message: "the download was cancelled" };
  if (p.stop === "stalled") {
    return {
      code: "failed",
      message: `the server took no chunk for ${stallMs / 1000} s: the download was stopped`,
    };
  }
  if (p.stop === "link_down") return { code: "failed", message: "the link to the server closed" };
  if (exitCode !== 0) {
    return { code: "failed", message: `restic dump failed part way: ${stderr.failure(exitCode).error}` };
  }
  return null;
}
