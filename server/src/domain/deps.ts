import type { PayloadOf, ServerMessageType } from "../../../protocol/index.ts";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { EventBus } from "./events.ts";
import type { SecretBox } from "./secrets.ts";
import type { Store } from "./store.ts";

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

/** What the domain's services share: the deps, and the one way to run work in a transaction. */
export interface DomainContext extends DomainDeps {
  /**
   * Runs fn in one store transaction (a savepoint when nested). The live events published inside
   * leave only after the outermost commit, and those of a rolled-back part never leave: an
   * operator never sees a change that was not stored.
   */
  tx<T>(fn: () => T): T;
}

export function domainContext(deps: DomainDeps): DomainContext {
  const { store, events } = deps;
  return {
    ...deps,
    tx<T>(fn: () => T): T {
      const mark = events.hold();
      let committed = false;
      try {
        const result = store.tx(fn);
        committed = true;
        return result;
      } finally {
        events.release(mark, committed);
      }
    },
  };
}
