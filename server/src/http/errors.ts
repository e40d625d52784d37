import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DomainError, type DomainErrorCode } from "../domain/errors.ts";
import type { Logger } from "../log.ts";
import { DISK_FULL_MESSAGE, isDiskFull } from "../storage-errors.ts";

const STATUS: Record<DomainErrorCode, ContentfulStatusCode> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_many: 429,
  agent_failed: 502,
  agent_busy: 503,
  agent_timeout: 504,
};

/** `{"error": {code, message, path?}}`, the one error shape of the API. */
export function errorBody(code: string, message: string, path?: string) {
  return { error: { code, message, ...(path ? { path } : {}) } };
}

export function onError(log: Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof DomainError) {
      const retryAfter = (err as DomainError & { retryAfter?: number }).retryAfter;
      if (retryAfter) c.header("Retry-After", String(retryAfter));
      return c.json(errorBody(err.code, err.message, err.path), STATUS[err.code]);
    }
    if (err instanceof HTTPException) {
      const code = err.status === 413 ? "too_large" : err.status === 401 ? "unauthorized" : "http_error";
      return c.json(errorBody(code, err.message || "request failed"), err.status as ContentfulStatusCode);
    }
    if (isDiskFull(err)) {
      log.error("request failed: the data directory's disk is full", { method: c.req.method, path: c.req.path });
      // 507 Insufficient Storage: the request was fine; the server cannot store it now.
      return c.json(errorBody("storage_full", DISK_FULL_MESSAGE), 507);
    }
    log.error("request failed", { method: c.req.method, path: c.req.path, error: String(err), stack: err.stack });
    return c.json(errorBody("internal", "internal server error; see the server log"), 500);
  };
}
