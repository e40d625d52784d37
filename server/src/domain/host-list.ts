import { BACKUP_HEALTH_STATES, type BackupHealth } from "./backup-health.ts";
import { DomainError } from "./errors.ts";
import { HOST_SORTS, type HostDrillFilter, type HostSort } from "./host-page-rows.ts";
import type { Labels } from "./labels.ts";

/** GET /hosts's query as the route decoded it (DESIGN §8.8). */
export interface HostListQuery {
  labels?: Labels | undefined;
  /** Label keys the host must not carry. */
  withoutLabels?: readonly string[] | undefined;
  drill?: HostDrillFilter | undefined;
  /** Any of these states (backup_health). */
  health?: readonly BackupHealth[] | undefined;
  online?: boolean | undefined;
  /** Part of the host's name, any case. */
  q?: string | undefined;
  sort?: HostSort | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** A page's size when none is asked for, and the most one may hold (DESIGN §8.8: 500). */
export const HOST_PAGE_DEFAULT = 100;
export const HOST_PAGE_MAX = 500;

export function checkHostLimit(limit: number | undefined): number {
  const n = limit ?? HOST_PAGE_DEFAULT;
  if (!Number.isInteger(n) || n < 1 || n > HOST_PAGE_MAX) {
    throw new DomainError("invalid", `limit must be 1-${HOST_PAGE_MAX}`, "limit");
  }
  return n;
}

export const healthRanks = (states: readonly BackupHealth[]) => states.map((s) => BACKUP_HEALTH_STATES.indexOf(s));

/** A position in one sort's order, opaque to clients: the sort's name and the last row's keys. */
export const encodeHostCursor = (sort: HostSort, keys: ReadonlyArray<string | number>) =>
  Buffer.from(JSON.stringify([sort, ...keys])).toString("base64url");

/** The keys of a cursor made for `sort`; any other cursor is a 400 that says what to pass. */
export function decodeHostCursor(cursor: string, sort: HostSort): Array<string | number> {
  const invalid = (why: string) =>
    new DomainError("invalid", `cursor ${why}: pass next_cursor from the previous page, with the same sort`, "cursor");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid("is not valid");
  }
  if (!Array.isArray(parsed) || !HOST_SORTS.includes(parsed[0])) throw invalid("is not valid");
  if (parsed[0] !== sort) throw invalid(`was made for sort=${parsed[0]}, not sort=${sort}`);
  const keys = parsed.slice(1);
  const shape = sort === "health" ? ["number", "string", "string"] : ["string", "string"];
  if (keys.length !== shape.length || keys.some((k, i) => typeof k !== shape[i])) throw invalid("is not valid");
  return keys as Array<string | number>;
}
