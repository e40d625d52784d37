import type { Actor, DomainDeps } from "./deps.ts";

/** Records an admin action. Details must never hold secrets: callers pass field names, not values. */
export function audit(
  deps: Pick<DomainDeps, "store" | "clock">,
  actor: Actor | null,
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
