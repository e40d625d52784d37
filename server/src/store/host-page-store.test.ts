import { expect, test } from "bun:test";
import { openDatabase } from "./db.ts";
import { createStore } from "./store.ts";

// A page under a label on more hosts than SORT_LABEL_HOSTS checks the label host by host while it
// walks the sort's index; under a rare one it reads and sorts that label's hosts. Both must give the
// same pages as filtering every host in JS, alone and combined, in every index-ordered sort.
test("pages under common and rare labels, alone and together, are the hosts that carry them, in order", () => {
  const store = createStore(openDatabase(":memory:"));
  const hosts: Array<{ id: string; name: string; labels: Record<string, string>; seen: string | null }> = [];
  store.tx(() => {
    for (let i = 0; i < 2600; i++) {
      const labels: Record<string, string> = {};
      if (i % 6 !== 0) labels.common = "yes";
      if (i % 53 === 0) labels.rare = "yes";
      const h = {
        id: `h${i}`,
        name: `n${(i * 7919) % 2600}`,
        labels,
        seen: i % 3 ? `2026-12-0${1 + (i % 3)}T00:00:00.000Z` : null,
      };
      store.insertHost({
        ...h,
        hostname: h.id,
        restic_host: h.id,
        agent_token_hash: `t${i}`,
        enrolled_at: "2026-12-01T00:00:00Z",
      });
      if (h.seen) store.touchHost(h.id, h.seen);
      hosts.push(h);
    }
  });
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const orders = {
    name: (a: (typeof hosts)[number], b: (typeof hosts)[number]) => cmp(a.name, b.name) || cmp(a.id, b.id),
    last_seen: (a: (typeof hosts)[number], b: (typeof hosts)[number]) =>
      cmp(b.seen ?? "", a.seen ?? "") || cmp(b.id, a.id),
  };
  const filters: Array<Record<string, string>> = [{ common: "yes" }, { rare: "yes" }, { common: "yes", rare: "yes" }];
  for (const labels of filters) {
    for (const [sort, order] of Object.entries(orders) as Array<
      ["name" | "last_seen", (a: (typeof hosts)[number], b: (typeof hosts)[number]) => number]
    >) {
      const want = hosts.filter((h) => Object.entries(labels).every(([k, v]) => h.labels[k] === v)).sort(order);
      const got: string[] = [];
      let after: Array<string | number> | undefined;
      for (;;) {
        const rows = store.hostPage({ labels, sort, after, limit: 97, nowMs: Date.parse("2026-12-03T00:00:00Z") });
        got.push(...rows.map((r) => r.host.id));
        if (rows.length < 97) break;
        after = rows.at(-1)?.keys;
      }
      expect({ labels, sort, got }).toEqual({ labels, sort, got: want.map((h) => h.id) });
    }
  }
  expect(hosts.filter((h) => h.labels.common).length).toBeGreaterThan(2000);
});
