import { DomainError } from "./errors.ts";
import type { SecretRef } from "./fleet-document.ts";

// A fleet-config document's secret references ({"env": "RF_SECRET_…"}) and how its errors are
// named (the object's full path), for fleet-config.ts and fleet-writes.ts.

/**
 * Only these variables may be read: a document must not be able to pull the server's own
 * credentials (its cloud keys, RF_ADMIN_PASSWORD) into a setting an admin can read back through
 * an agent or a webhook of their choosing.
 */
export const SECRET_ENV_PREFIX = "RF_SECRET_";
const ENV_NAME = /^RF_SECRET_[A-Z0-9_]{1,100}$/;

export const invalid = (path: string, message: string) => new DomainError("invalid", `${path}: ${message}`, path);
export const isRef = (x: unknown): x is SecretRef =>
  typeof x === "object" &&
  x !== null &&
  Object.keys(x).length === 1 &&
  typeof (x as { env?: unknown }).env === "string";

/**
 * A domain error from one object of the document, named by its full path: `schedules.0:
 * cron_expr: …` from the policy's own check becomes `policies.1.schedules.0.cron_expr: …`.
 */
export function within<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    const path = err.path ? `${prefix}.${err.path}` : prefix;
    let message = err.message;
    for (;;) {
      const head = /^([\w.-]+): /.exec(message)?.[1];
      if (!head || !err.path || !(err.path === head || err.path.startsWith(`${head}.`))) break;
      message = message.slice(head.length + 2);
    }
    throw new DomainError(err.code, `${path}: ${message}`, path);
  }
}

/** Thrown inside a savepoint to undo a write that changed nothing, or the whole dry run. */
export class Undo extends Error {}

/** Reads references from `environment` (the server's process environment). */
export function secretReader(environment: Record<string, string | undefined>) {
  /** The value of a reference, or a 400 naming the variable (never a value). */
  return function resolve(ref: SecretRef, path: string): string {
    if (!ENV_NAME.test(ref.env)) {
      throw invalid(
        `${path}.env`,
        `must be the name of a variable starting with ${SECRET_ENV_PREFIX} (A-Z, 0-9 and _ only), e.g. ` +
          `${SECRET_ENV_PREFIX}PROD_PASSWORD; the server reads no other`,
      );
    }
    const value = environment[ref.env];
    if (value === undefined || value === "") {
      throw invalid(
        `${path}.env`,
        `${ref.env} is not set in the server's environment: set it where the server runs ` +
          "(/etc/restic-fleet-server/server.env for the .deb) and restart the server",
      );
    }
    return value;
  };
}
