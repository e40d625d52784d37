/** Domain failures, mapped to HTTP statuses at the edge and to `error` frames on the wire. */
export type DomainErrorCode = "invalid" | "not_found" | "conflict" | "forbidden" | "unauthorized" | "too_many";

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
