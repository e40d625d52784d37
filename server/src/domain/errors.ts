/** Domain failures, mapped to HTTP statuses at the edge and to `error` frames on the wire. */
export type DomainErrorCode =
  | "invalid"
  | "not_found"
  | "conflict"
  | "forbidden"
  | "unauthorized"
  | "too_many"
  /** An agent asked on the operator's behalf failed (502), is busy (503) or did not answer in time (504). */
  | "agent_failed"
  | "agent_busy"
  | "agent_timeout";

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new DomainError("not_found", `${what} not found`);

/** A domain error from a check of one list item, its field named under the item (`schedules.2.cron_expr`). */
export function within<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    const path = err.path ? `${prefix}.${err.path}` : prefix;
    throw new DomainError(err.code, `${prefix}: ${err.message}`, path);
  }
}
