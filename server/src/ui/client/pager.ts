import { api } from "./api.ts";
import { h } from "./dom.ts";
import type { List } from "./types.ts";

/**
 * Pages of one of the API's keyset lists (GET /jobs, /alerts, /hosts/:id/snapshots) for one filter
 * (`query`, without limit and cursor): the first page, "Load more" on from next_cursor, a refresh
 * for live events that re-reads the first page and keeps the deeper pages already shown (so an
 * update never drops what the operator paged to), and a re-read of as many as are shown, for a
 * list whose older rows may go (snapshots forgotten). `olderThan` is the list's order.
 */
export function listPager<T extends { id: string }>(
  path: string,
  query: () => string,
  pageSize: number,
  olderThan: (a: T, b: T) => boolean,
) {
  let items: T[] = [];
  let next: string | null = null;
  const page = (cursor: string | null) =>
    api<List<T>>(
      `${path}?${[query(), `limit=${pageSize}`, cursor ? `cursor=${encodeURIComponent(cursor)}` : ""].filter(Boolean).join("&")}`,
    );
  const pager = {
    get items(): readonly T[] {
      return items;
    },
    get more() {
      return next !== null;
    },
    async reload() {
      const p = await page(null);
      items = p.items;
      next = p.next_cursor;
    },
    async loadMore() {
      if (!next) return;
      const p = await page(next);
      const seen = new Set(items.map((x) => x.id));
      items = [...items, ...p.items.filter((x) => !seen.has(x.id))];
      next = p.next_cursor;
    },
    async refresh() {
      const p = await page(null);
      const last = p.items.at(-1);
      const older = last ? items.filter((x) => olderThan(x, last)) : [];
      items = [...p.items, ...older];
      if (older.length === 0) next = p.next_cursor;
    },
    /** The first pages again, as many as were shown: what went is gone, what came is there. */
    async reread() {
      const shown = items.length;
      await pager.reload();
      while (next && items.length < shown) await pager.loadMore();
    },
  };
  return pager;
}

export type Pager = Pick<ReturnType<typeof listPager>, "more" | "loadMore">;

/** "Load more" under a paged table, while a next page exists. */
export function loadMoreButton(pager: Pager, after: () => void, onError: (err: unknown) => void) {
  if (!pager.more) return null;
  return h(
    "button",
    {
      type: "button",
      class: "secondary load-more",
      onclick: async (e: Event) => {
        const b = e.currentTarget as HTMLButtonElement;
        b.disabled = true;
        try {
          await pager.loadMore();
          after();
        } catch (err) {
          b.disabled = false;
          onError(err);
        }
      },
    },
    "Load more",
  );
}

/** Newest first by a time, then by id: the order of every list paged with a (time, id) cursor. */
export const olderBy =
  <T extends { id: string }>(time: (x: T) => string) =>
  (a: T, b: T) =>
    time(a) < time(b) || (time(a) === time(b) && a.id < b.id);
