import { decodeTimeCursor, encodeTimeCursor } from "./cursor.ts";
import { DomainError } from "./errors.ts";
import { itemsBudget, takePage } from "./pages.ts";
import type { Store } from "./store.ts";
import type { StoredSnapshot } from "./types.ts";

/** A page of GET /hosts/:id/snapshots when none is asked for, and the most one may hold. */
export const SNAPSHOT_PAGE_DEFAULT = 100;
export const SNAPSHOT_PAGE_MAX = 500;

export interface SnapshotPageQuery {
  limit?: number | undefined;
  cursor?: string | undefined;
}

/**
 * One page of a host's snapshots, as its agent last reported them: newest first by time (the id
 * breaks ties), `limit` a page; `cursor` is the previous page's next_cursor, a (time, id)
 * position, so a report between pages (a new snapshot, a forget) shifts none of them.
 */
export function snapshotPage(
  store: Pick<Store, "snapshotPage">,
  pageBytes: number,
  hostId: string,
  q: SnapshotPageQuery,
): { items: StoredSnapshot[]; next_cursor: string | null } {
  const limit = q.limit ?? SNAPSHOT_PAGE_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > SNAPSHOT_PAGE_MAX) {
    throw new DomainError("invalid", `limit must be 1-${SNAPSHOT_PAGE_MAX}`, "limit");
  }
  const rows = store.snapshotPage(hostId, limit + 1, q.cursor ? decodeTimeCursor(q.cursor) : undefined);
  const { items, more } = takePage(rows, limit, itemsBudget(pageBytes));
  const last = items.at(-1);
  return { items, next_cursor: more && last ? encodeTimeCursor(last.time, last.id) : null };
}
