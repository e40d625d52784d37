import { expect, test } from "bun:test";
import { parseDuration } from "./alert-rules.ts";
import { changedPaths, diffOf, durationText, type FleetDocument, same } from "./fleet-document.ts";

test("durationText gives the largest exact unit, and parseDuration reads it back", () => {
  for (const [s, text] of [
    [60, "1m"],
    [90, "90s"],
    [3600, "1h"],
    [5400, "90m"],
    [86_400, "1d"],
    [7 * 86_400, "7d"],
  ] as const) {
    expect(durationText(s)).toBe(text);
    expect(parseDuration(text, "x", { min: 1 })).toBe(s);
  }
});

test("changedPaths: objects by key, equal-length lists by item, a list that grew as a whole", () => {
  const a = {
    name: "p",
    schedules: [{ cron_expr: "0 2 * * *", paths: ["/a"] }],
    selector: { labels: { env: "prod" } },
  };
  const b = structuredClone(a);
  expect(changedPaths(a, b)).toEqual([]);
  b.schedules[0] = { cron_expr: "0 3 * * *", paths: ["/a", "/b"] };
  b.selector.labels.env = "staging";
  expect(changedPaths(a, b)).toEqual(["schedules.0.cron_expr", "schedules.0.paths", "selector.labels.env"]);
  expect(changedPaths({ x: 1 }, { x: 1, y: 2 })).toEqual(["y"]);
  expect(same({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
});

test("diffOf: type order, then name; a case-only rename is a change; secret fields are added", () => {
  const empty: FleetDocument = {
    version: 1,
    repositories: [],
    policies: [],
    notification_channels: [],
    alert_rules: [],
  };
  const before: FleetDocument = {
    ...empty,
    repositories: [{ name: "Prod", url: "/a" }],
    alert_rules: [{ name: "old", conditions: ["backup_failed"], channels: [] }],
  };
  const after: FleetDocument = {
    ...empty,
    repositories: [{ name: "prod", url: "/a" }],
    policies: [{ name: "b" }, { name: "a" }],
  };
  const diff = diffOf(before, after, new Map([["repository/prod", ["password"]]]), true, []);
  expect(diff).toEqual({
    dry_run: true,
    created: [
      { type: "policy", name: "a" },
      { type: "policy", name: "b" },
    ],
    changed: [{ type: "repository", name: "prod", fields: ["name", "password"] }],
    deleted: [{ type: "alert_rule", name: "old" }],
    warnings: [],
  });
});

test("diffOf: a changed copy target is the field copy_targets as a whole, not its place in the list", () => {
  const policy = { name: "p", repository: "main", copy_targets: [{ repository: "offsite", prune: true }] };
  const doc = (p: object): FleetDocument => ({
    version: 1,
    repositories: [],
    policies: [p as FleetDocument["policies"][number]],
    notification_channels: [],
    alert_rules: [],
  });
  const changed = (p: object) => diffOf(doc(policy), doc(p), new Map(), true, []).changed;
  expect(changed({ ...policy, copy_targets: [{ repository: "offsite" }] })).toEqual([
    { type: "policy", name: "p", fields: ["copy_targets"] },
  ]);
  expect(changed({ ...policy, copy_targets: undefined, priority: 3 })).toEqual([
    { type: "policy", name: "p", fields: ["copy_targets", "priority"] },
  ]);
  expect(changed(policy)).toEqual([]);
});
