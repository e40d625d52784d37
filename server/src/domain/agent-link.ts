import type { AgentMessage, DownloadChunkFrame, PayloadOf, ServerMessageType } from "../../../protocol/index.ts";

/**
 * The agent's live answers to a browse or a download (protocol 7): never stored, never acked. A
 * chunk comes as a binary frame (protocol/chunk-frame.ts), its bytes as they are.
 */
export type LiveAnswer =
  | Extract<
      AgentMessage,
      { type: "files.listed" | "download.begin" | "download.end" | "snapshots.diffed" | "repo.tested" }
    >
  | DownloadChunkFrame;

/** Who waits for the answers to one request of the server's. */
export interface AnswerHandler {
  /** One answer frame, in the order the connection delivered them. */
  answer(msg: LiveAnswer): void;
  /** The host's connection closed (or was replaced) before the request was done. */
  gone(reason: string): void;
}

/** The requests waiting on an agent's answers, keyed by (host id, request id); the gateway routes to them. */
export interface AgentRequests {
  /** Registers the handler for answers to `requestId` from `hostId`; the returned function forgets it. */
  expect(hostId: string, requestId: string, handler: AnswerHandler): () => void;
}

/** How the domain reaches connected agents; the gateway implements it. */
export interface AgentLink {
  /** Sends a frame to the host's live connection; false when the host is not connected. */
  send<T extends ServerMessageType>(hostId: string, type: T, payload: PayloadOf<T>): boolean;
  isConnected(hostId: string): boolean;
  /** Whether the host's live link may carry secrets (encrypted, or on loopback); see configPayload. */
  isSecure(hostId: string): boolean;
  /** Closes the host's connection, if any (revocation, shutdown). */
  close(hostId: string, code: number, reason: string): void;
  /** Live requests (browse, download); absent in unit tests' fakes, which never browse. */
  readonly requests?: AgentRequests;
}
