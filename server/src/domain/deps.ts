import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { AgentLink } from "./agent-link.ts";
import type { EventBus } from "./events.ts";
import type { NotificationSender } from "./notify-link.ts";
import type { SecretBox } from "./secrets.ts";
import { DEFAULT_SETTINGS, type Settings } from "./settings.ts";
import type { Store } from "./store.ts";
import type { Actor } from "./types.ts";

export type { Actor, AgentLink };

export interface DomainDeps {
  store: Store;
  clock: Clock;
  agents: AgentLink;
  events: EventBus;
  secrets: SecretBox;
  log: Logger;
  /** Password hashing; Bun.password with argon2id unless a test wraps it (to count checks). */
  passwords?: Passwords;
  /** How notifications reach their receivers (server/src/notify/); none: alerts are queued, not sent. */
  notifier?: NotificationSender | undefined;
  /** The operator's limits and switches; each left out takes its default (settings.ts). */
  settings?: Partial<Settings> | undefined;
}

export interface Passwords {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
}

export const bunPasswords: Passwords = {
  hash: (password) => Bun.password.hash(password, { algorithm: "argon2id" }),
  verify: (password, hash) => Bun.password.verify(password, hash),
};

/** What the domain's services share: the deps, and the one way to run work in a transaction. */
export interface DomainContext extends DomainDeps {
  settings: Settings;
  /**
   * Runs fn in one store transaction (a savepoint when nested). The live events published inside
   * leave only after the outermost commit, and those of a rolled-back part never leave: an
   * operator never sees a change that was not stored.
   */
  tx<T>(fn: () => T): T;
  /**
   * Runs fn once the outermost open transaction has committed, or now when none is open; dropped
   * when the part it was queued in rolls back. Sends to agents go through it, so a change made
   * inside a larger transaction (fleet-config applies many in one) reaches no host unless all of
   * it is stored.
   */
  afterCommit(fn: () => void): void;
}

export function domainContext(deps: DomainDeps): DomainContext {
  const { store, events } = deps;
  let depth = 0;
  let queued: (() => void)[] = [];
  return {
    ...deps,
    settings: { ...DEFAULT_SETTINGS, ...deps.settings },
    tx<T>(fn: () => T): T {
      const mark = events.hold();
      const queuedMark = queued.length;
      depth += 1;
      let committed = false;
      try {
        const result = store.tx(fn);
        committed = true;
        return result;
      } finally {
        depth -= 1;
        if (!committed) queued.length = queuedMark;
        events.release(mark, committed);
        if (depth === 0) {
          const run = queued;
          queued = [];
          for (const f of run) {
            try {
              f();
            } catch (err) {
              deps.log.error("a send after commit failed", { error: String(err) });
            }
          }
        }
      }
    },
    afterCommit(fn: () => void): void {
      if (depth > 0) queued.push(fn);
      else fn();
    },
  };
}
