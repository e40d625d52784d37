import type { PayloadOf, ServerMessageType } from "../../../protocol/index.ts";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { Store } from "../store/store.ts";
import type { EventBus } from "./events.ts";
import type { SecretBox } from "./secrets.ts";

/** How the domain reaches connected agents; the gateway implements it. */
export interface AgentLink {
  /** Sends a frame to the host's live connection; false when the host is not connected. */
  send<T extends ServerMessageType>(hostId: string, type: T, payload: PayloadOf<T>): boolean;
  isConnected(hostId: string): boolean;
  /** Closes the host's connection, if any (revocation, shutdown). */
  close(hostId: string, code: number, reason: string): void;
}

export interface DomainDeps {
  store: Store;
  clock: Clock;
  agents: AgentLink;
  events: EventBus;
  secrets: SecretBox;
  log: Logger;
}

/** An authenticated operator, for ownership and audit. */
export interface Actor {
  user_id: string;
  username: string;
  role: "admin" | "viewer";
}
