import type { AgentMessageType, PayloadOf } from "../../../protocol/index.ts";
import { realClock } from "../clock.ts";
import { silentLogger } from "../log.ts";
import type { ChildLike, SpawnFn } from "../restic/types.ts";
import { OPEN_POLICY } from "../testing/open-policy.ts";
import { type LiveOptions, LiveRequests } from "./live-requests.ts";

/**
 * Test wiring for LiveRequests (tests only): every frame it sends is recorded, and next() waits for
 * one by type and request id. The spawn is wrapped so a test can wait on each child's exit.
 */
/** A frame sent; a chunk's bytes are recorded as base64 `data` (the wire sends them raw, binary). */
export interface Frame {
  type: AgentMessageType | "download.chunk";
  payload: { request_id: string } & Record<string, unknown>;
}

type KitPayload<T> = T extends AgentMessageType ? PayloadOf<T> : { request_id: string; seq: number; data: string };

export interface LiveKit {
  live: LiveRequests;
  frames: Frame[];
  children: ChildLike[];
  /** The first frame (past or future) of this type for this request. */
  next<T extends AgentMessageType | "download.chunk">(type: T, requestId: string): Promise<KitPayload<T>>;
  /** Called for each frame as it is sent; a test's stand-in for the server (credit, cancel). */
  onFrame: ((f: Frame) => void) | null;
  /** What send() answers; false plays a closed link. */
  linkUp: boolean;
}

export function liveKit(o: Partial<LiveOptions> & Pick<LiveOptions, "resticPath" | "spawn" | "tempDir">): LiveKit {
  const waiters: Array<{ type: string; id: string; resolve: (p: unknown) => void }> = [];
  const children: ChildLike[] = [];
  const inner = o.spawn;
  const spawn: SpawnFn = (argv, opts) => {
    const child = inner(argv, opts);
    children.push(child);
    return child;
  };
  const kit: LiveKit = {
    frames: [],
    children,
    onFrame: null,
    linkUp: true,
    next(type, requestId) {
      const seen = kit.frames.find((f) => f.type === type && f.payload.request_id === requestId);
      if (seen) return Promise.resolve(seen.payload as never);
      return new Promise((resolve) => waiters.push({ type, id: requestId, resolve: resolve as never }));
    },
    live: new LiveRequests({
      clock: realClock,
      log: silentLogger,
      getRepo: () => null,
      policy: OPEN_POLICY,
      repositoryPin: () => null,
      heldTokens: () => [],
      resticHost: "test-host",
      ...o,
      spawn,
      sendChunk: (requestId, seq, bytes) =>
        record("download.chunk", { request_id: requestId, seq, data: Buffer.from(bytes).toString("base64") }),
      send: (type, payload) => record(type, payload),
    }),
  };
  function record(type: Frame["type"], payload: unknown): boolean {
    if (!kit.linkUp) return false;
    const frame = { type, payload } as Frame;
    kit.frames.push(frame);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      if (w && w.type === type && w.id === frame.payload.request_id) {
        waiters.splice(i, 1);
        w.resolve(payload);
      }
    }
    kit.onFrame?.(frame);
    return true;
  }
  return kit;
}
