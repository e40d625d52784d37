import type { DownloadBeginPayload, RequestError } from "../../../protocol/index.ts";
import type { AgentRequests, LiveAnswer } from "./agent-link.ts";
import type { Deadline } from "./deadlines.ts";
import { DomainError } from "./errors.ts";

/**
 * Chunks the agent may send ahead of the client: at most 8 × 512 KiB = 4 MiB held by the server per
 * download whatever the file's size (the agent sends 256 KiB chunks, so 2 MiB in practice). That
 * covers a 100 Mbit/s link with 150 ms round trips; 16 measured no faster here (bench 9).
 */
export const DOWNLOAD_WINDOW = 8;

/** What a download is, known before its first byte (download.begin), and its bytes. */
export interface DownloadHead {
  type: "file" | "dir";
  name: string;
  /** A file's size in bytes; null for a directory's tar. */
  size: number | null;
  body: ReadableStream<Uint8Array>;
}

export interface DownloadLink {
  requests: AgentRequests;
  /** The host asked (the snapshot's own host, or the via host), and its name in messages. */
  hostId: string;
  hostName: string;
  requestId: string;
  /** Sends the download.start; false when the host is not connected. */
  start(): boolean;
  /** Sends a download.credit or download.cancel for this request to the host asked. */
  credit(chunks: number): void;
  cancel(): void;
  deadline(onExpire: () => void): Deadline;
  /** How an agent's refusal reads as a domain error (snapshot-files.ts answerError). */
  refusal(error: RequestError): DomainError;
  /** A transfer under way failed (for the server's log). */
  failed?(message: string): void;
  /** The client went away before or during the transfer. */
  signal?: AbortSignal | undefined;
}

/**
 * Waits for download.begin, then streams the chunks to the client with credit flow control: a
 * chunk is credited back to the agent only when the client's stream takes it, so at most
 * DOWNLOAD_WINDOW chunks wait here. The stream errors (never ends cleanly) when the agent fails,
 * disconnects, goes silent, breaks the window or the order, or sends another byte count than it
 * announced: the client sees a failed transfer, never a clean but truncated one.
 */
export function receiveDownload(link: DownloadLink): Promise<DownloadHead> {
  const { hostName } = link;
  let head: DownloadBeginPayload | null = null;
  let done = false;
  let ended = false;
  let received = 0;
  let credited = DOWNLOAD_WINDOW;
  let bytes = 0;
  const buffered: Uint8Array[] = [];
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  let waiting: (() => void) | null = null;
  let failure: Error | null = null;
  let settle: { resolve(h: DownloadHead): void; reject(e: unknown): void } | null = null;

  const timer = link.deadline(() => {
    const what = head ? "sent nothing" : "did not answer";
    fail(new DomainError("agent_timeout", `host ${hostName} ${what} for 30 s: check that its agent is working`), true);
  });
  const forget = link.requests.expect(link.hostId, link.requestId, {
    answer: (msg) => {
      if (!done) onAnswer(msg);
    },
    gone: (reason) =>
      fail(new DomainError("agent_failed", `host ${hostName} went away during the download: ${reason}`), false),
  });

  function finish(): void {
    done = true;
    forget();
    timer.disarm();
    buffered.length = 0;
    const w = waiting;
    waiting = null;
    w?.();
  }

  /**
   * Ends the download with an error: the pending begin rejects, or the client's stream errors.
   * The stream errors inside a read (now, if one waits; else at the next pull): Bun 1.4 does not
   * notice a stream errored before it began to read it, and would hold the client until its idle
   * timeout.
   */
  function fail(err: DomainError, tellAgent: boolean): void {
    if (done) return;
    if (settle) {
      finish();
      settle.reject(err);
      settle = null;
    } else {
      failure = new Error(err.message);
      if (waiting) controller?.error(failure);
      finish();
      link.failed?.(err.message);
    }
    if (tellAgent) link.cancel();
  }

  function clientGone(): void {
    if (done) return;
    finish();
    link.cancel();
    settle?.reject(new DomainError("conflict", "the client went away before the download began"));
    settle = null;
  }

  function protocolError(problem: string): void {
    fail(new DomainError("agent_failed", `host ${hostName} broke the download protocol: ${problem}`), true);
  }

  /** Hands one chunk to the client's stream and credits it back to the agent. */
  function give(chunk: Uint8Array): void {
    controller?.enqueue(chunk);
    credited++;
    link.credit(1);
  }

  function closeIfDrained(): void {
    if (!ended || buffered.length > 0 || done) return;
    finish();
    controller?.close();
  }

  function onAnswer(msg: LiveAnswer) {
    switch (msg.type) {
      case "download.begin":
        return onBegin(msg.payload);
      case "download.chunk": {
        if (!head || ended) return protocolError("a chunk outside the stream");
        if (msg.payload.seq !== received)
          return protocolError(`chunk ${msg.payload.seq} came when ${received} was due`);
        if (received >= credited) return protocolError(`more than its window of ${DOWNLOAD_WINDOW} chunks`);
        received++;
        const chunk = msg.payload.bytes;
        bytes += chunk.byteLength;
        if (waiting) {
          timer.disarm();
          give(chunk);
          const w = waiting;
          waiting = null;
          w();
        } else buffered.push(chunk);
        return;
      }
      case "download.end": {
        if (!head) return protocolError("an end before the begin");
        const p = msg.payload;
        if (p.error) return fail(new DomainError("agent_failed", `${link.refusal(p.error).message}`), false);
        if (p.bytes !== bytes) return protocolError(`it announced ${p.bytes} bytes in all but sent ${bytes}`);
        if (head.size !== undefined && head.type === "file" && bytes !== head.size) {
          return fail(
            new DomainError("agent_failed", `host ${hostName} sent ${bytes} bytes of a ${head.size}-byte file`),
            false,
          );
        }
        ended = true;
        timer.disarm();
        return closeIfDrained();
      }
      case "files.listed":
        return protocolError("a listing in answer to a download");
    }
  }

  function onBegin(p: DownloadBeginPayload) {
    if (head) return protocolError("a second begin");
    if (p.error) return fail(link.refusal(p.error), false);
    if (!p.type) return protocolError("a begin without a type");
    head = p;
    timer.disarm();
    const body = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          controller = c;
        },
        pull: (c) => {
          if (failure) return c.error(failure);
          if (done) return;
          const chunk = buffered.shift();
          if (chunk) {
            give(chunk);
            closeIfDrained();
            return;
          }
          if (ended) return closeIfDrained();
          timer.arm();
          return new Promise<void>((resolve) => {
            waiting = resolve;
          });
        },
        cancel: () => clientGone(),
      },
      // Pulled only when the client reads: the agent's chunks wait in `buffered`, bounded by the window.
      { highWaterMark: 0 },
    );
    const s = settle;
    settle = null;
    s?.resolve({ type: p.type, name: p.name ?? "", size: p.type === "file" ? (p.size ?? null) : null, body });
  }

  return new Promise<DownloadHead>((resolve, reject) => {
    settle = { resolve, reject };
    if (link.signal?.aborted) return clientGone();
    link.signal?.addEventListener("abort", clientGone, { once: true });
    timer.arm();
    if (!link.start()) {
      fail(new DomainError("conflict", `host ${hostName} went offline; try again once it is back`), false);
    }
  });
}
