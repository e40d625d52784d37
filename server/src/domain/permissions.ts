import type { Actor } from "./deps.ts";
import { DomainError } from "./errors.ts";
import type { Role } from "./types.ts";

/** A new user's role when none is given, at every door (API, UI, CLI): the one that only reads. */
export const DEFAULT_ROLE: Role = "viewer";

/**
 * The role rule, in one place for every door (HTTP, UI, and any later one): admins may change
 * things, viewers only read. `null` is the headless CLI, which acts on the data directory with
 * the machine's own rights.
 */
export function requireAdmin(actor: Actor | null, what: string): void {
  if (actor && actor.role !== "admin") {
    throw new DomainError("forbidden", `${what} needs the admin role; your role is ${actor.role}`);
  }
}
