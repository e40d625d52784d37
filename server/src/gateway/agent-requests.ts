import type { AgentRequests, AnswerHandler, LiveAnswer } from "../domain/agent-link.ts";
import type { Logger } from "../log.ts";

/**
 * The requests waiting on agents' live answers (browse, download), keyed by host and request id.
 * Answers are routed here as they arrive, in the connection's order; nothing of them is stored or
 * acked (the agent does not keep them). A host's connection going away fails its requests.
 */
export class PendingAgentRequests implements AgentRequests {
  #byHost = new Map<string, Map<string, AnswerHandler>>();

  constructor(private readonly log: Logger) {}

  expect(hostId: string, requestId: string, handler: AnswerHandler): () => void {
    let mine = this.#byHost.get(hostId);
    if (!mine) {
      mine = new Map();
      this.#byHost.set(hostId, mine);
    }
    mine.set(requestId, handler);
    return () => {
      const now = this.#byHost.get(hostId);
      if (now?.get(requestId) !== handler) return;
      now.delete(requestId);
      if (now.size === 0) this.#byHost.delete(hostId);
    };
  }

  /** Hands an answer to its request; one for a request that is over (or never was) is dropped quietly. */
  deliver(hostId: string, msg: LiveAnswer): void {
    const handler = this.#byHost.get(hostId)?.get(msg.payload.request_id);
    if (!handler) {
      this.log.debug("dropped an answer to no pending request", {
        host_id: hostId,
        type: msg.type,
        request_id: msg.payload.request_id,
      });
      return;
    }
    handler.answer(msg);
  }

  /** The host's connection closed or was replaced: none of its pending requests can be answered now. */
  hostGone(hostId: string, reason: string): void {
    const mine = this.#byHost.get(hostId);
    if (!mine) return;
    this.#byHost.delete(hostId);
    for (const handler of mine.values()) handler.gone(reason);
  }

  /** Requests waiting, over all hosts (tests, metrics). */
  get size(): number {
    let n = 0;
    for (const m of this.#byHost.values()) n += m.size;
    return n;
  }
}
