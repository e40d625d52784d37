import { expect, test } from "bun:test";
import { DEFAULT_STATE, hostsQuery, readState, stateHash, summaryQuery } from "./dashboard-state.ts";

test("a view survives its own address: every field round-trips, defaults leave the address bare", () => {
  expect(stateHash(DEFAULT_STATE)).toBe("#/");
  const view = {
    q: "web 01",
    status: "stale" as const,
    label: "env=prod role=db",
    group: "",
    sort: "last_seen" as const,
    page: 3,
    cursor: "WyJsYXN0X3NlZW4iXQ",
  };
  const hash = stateHash(view);
  expect(readState(hash.slice(3))).toEqual(view);
  // Grouped, the groups page themselves: no page or cursor in the address.
  expect(readState(stateHash({ ...view, group: "site" }).slice(3))).toEqual({
    ...view,
    group: "site",
    page: 1,
    cursor: null,
  });
});

test("what the address cannot mean falls back to the defaults", () => {
  expect(readState("status=bogus&sort=size&page=7")).toEqual(DEFAULT_STATE);
  expect(readState("page=-2&cursor=abc")).toMatchObject({ page: 1, cursor: "abc" });
});

test("the table's and the counters' API queries", () => {
  const s = { ...DEFAULT_STATE, q: " db ", status: "offline" as const, label: "env=prod", sort: "name" as const };
  expect(hostsQuery(s)).toBe("label=env%3Dprod&online=false&q=db&sort=name");
  expect(hostsQuery({ ...s, status: "drill_failed" })).toContain("drill=failed");
  expect(hostsQuery({ ...s, status: "failed" })).toContain("health=failed");
  expect(hostsQuery(s, { key: "site", value: "fra" })).toBe(
    "label=env%3Dprod&label=site%3Dfra&online=false&q=db&sort=name",
  );
  expect(hostsQuery(s, { key: "site", value: null })).toContain("without_label=site");
  // The counters count the label filter (and the group), not the search or status.
  expect(summaryQuery(s)).toBe("?label=env%3Dprod");
  expect(summaryQuery(DEFAULT_STATE)).toBe("");
  expect(summaryQuery(DEFAULT_STATE, { key: "site", value: null })).toBe("?without_label=site");
});
