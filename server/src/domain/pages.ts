/**
 * One page of a list: at most `limit` items, and no more JSON than `maxBytes` (the page's items
 * with their commas and brackets), but always at least one item, so a client always moves on.
 * `rows` is read lazily, one row past the page at most: a store's lazy read then never loads
 * what the page will not hold (a 5,000-line page of 64 KiB lines was 320 MB in memory).
 * `more` says that a row was left for the next page.
 */
export function takePage<T>(rows: Iterable<T>, limit: number, maxBytes: number): { items: T[]; more: boolean } {
  const items: T[] = [];
  let bytes = 2; // []
  for (const row of rows) {
    if (items.length >= limit) return { items, more: true };
    const size = Buffer.byteLength(JSON.stringify(row)) + 1; // and its comma
    if (items.length > 0 && bytes + size > maxBytes) return { items, more: true };
    items.push(row);
    bytes += size;
  }
  return { items, more: false };
}

/** What a page's items may take: the budget less room for `{"items":…,"next_cursor":"…"}`. */
export const itemsBudget = (pageBytes: number) => Math.max(pageBytes - 1024, 1);
