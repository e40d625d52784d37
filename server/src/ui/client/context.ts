import type { Me } from "./api.ts";

/** What every view gets: who is logged in. Views return a cleanup function (e.g. unsubscribe). */
export interface Ctx {
  me: Me;
  isAdmin: boolean;
  go(hash: string): void;
  /** Subscriptions and timers to drop when the view is left. */
  onLeave(fn: () => void): void;
}

export type View = (root: HTMLElement, ctx: Ctx, params: Record<string, string>) => Promise<void> | void;
