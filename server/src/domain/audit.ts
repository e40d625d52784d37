import type { Actor, DomainDeps } from "./deps.ts";

/** Who did it: an operator, `null` for the headless CLI, or someone not logged in (a failed login). */
export type AuditActor = Actor | null | { user_id: null; username: string };

/** Someone not logged in, e.g. a failed login: the name they tried goes in the detail. */
export const ANONYMOUS = { user_id: null, username: "anonymous" } as const;

/** Records an admin action. Details must never hold secrets: callers pass field names, not values. */
export function audit(
  deps: Pick<DomainDeps, "store" | "clock">,
  actor: AuditActor,
  action: string,
  target: string | null,
  detail: Record<string, unknown> | null = null,
): void {
  deps.store.insertAudit({
    at: deps.clock.now().toISOString(),
    actor_id: actor?.user_id ?? null,
    actor_name: actor?.username ?? "cli",
    action,
    target,
    detail,
  });
}
