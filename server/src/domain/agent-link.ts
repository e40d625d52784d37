import type { PayloadOf, ServerMessageType } from "../../../protocol/index.ts";

/** How the domain reaches connected agents; the gateway implements it. */
export interface AgentLink {
  /** Sends a frame to the host's live connection; false when the host is not connected. */
  send<T extends ServerMessageType>(hostId: string, type: T, payload: PayloadOf<T>): boolean;
  isConnected(hostId: string): boolean;
  /** Whether the host's live link may carry secrets (encrypted, or on loopback); see configPayload. */
  isSecure(hostId: string): boolean;
  /** Closes the host's connection, if any (revocation, shutdown). */
  close(hostId: string, code: number, reason: string): void;
}
