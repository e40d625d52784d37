import { expect, test } from "bun:test";
import { READ_DATA_SUBSET } from "../../../protocol/index.ts";
import { blankSchedule } from "./blank-rows.ts";
import { kindProblem, specFromSchedule } from "./command-spec.ts";
import { rollingParts, rollingProblem } from "./read-cycles.ts";
import { entriesFor } from "./schedule-entry.ts";

const check = (read_data_subset: string) =>
  blankSchedule({
    id: "s1",
    host_id: "h1",
    kind: "check",
    cron_expr: "0 3 * * *",
    created_at: "2026-12-02T00:00:00Z",
    options: { read_data_subset },
  });

test("the rolling form is k/N with N from 2 to 10000; restic's own forms are not rolling", () => {
  expect(rollingParts("k/7")).toBe(7);
  expect(rollingParts("1/7")).toBeNull();
  expect(rollingParts("10%")).toBeNull();
  expect(rollingProblem("k/7")).toBeNull();
  expect(rollingProblem("k/10000")).toBeNull();
  expect(rollingProblem("10%")).toBeNull();
  for (const bad of ["k/1", "k/0", "k/10001", "k/", "k/x", "k/7/2"]) expect(rollingProblem(bad)).toContain("k/N");
});

test("a rolling schedule's job carries restic's own k/N with the part the server picked", () => {
  expect(specFromSchedule(check("k/7"), 3)).toEqual({ args: [], kind: "check", spec: { read_data_subset: "3/7" } });
  const spec = specFromSchedule(check("k/7"), 7).spec as { read_data_subset: string };
  expect(READ_DATA_SUBSET.test(spec.read_data_subset)).toBe(true);
  // A fixed subset passes through as it is, whatever part is given.
  expect(specFromSchedule(check("2/5"), 4).spec).toEqual({ read_data_subset: "2/5" });
});

test("drills need protocol 7: the reason names the version and the upgrade; unknown versions wait", () => {
  expect(kindProblem("drill", { id: "h1", protocol_version: 6 })).toBe(
    "the agent on host h1 speaks protocol 6, and a drill needs protocol 7: upgrade the agent to run it",
  );
  expect(kindProblem("drill", { id: "h1", protocol_version: 7 })).toBeNull();
  expect(kindProblem("drill", { id: "h1", protocol_version: null })).toBeNull();
  expect(kindProblem("check", { id: "h1", protocol_version: 1 })).toBeNull();
});

test("schedule.set entries: drills only to protocol 7 agents, and never a rolling subset", () => {
  const drill = blankSchedule({
    id: "s2",
    host_id: "h1",
    kind: "drill",
    cron_expr: "0 4 * * 0",
    created_at: "2026-12-02T00:00:00Z",
    options: { sample_files: 5 },
  });
  const both = [check("k/7"), drill];
  expect(entriesFor(both, { id: "h1", protocol_version: 6 }).map((e) => e.kind)).toEqual(["check"]);
  const v7 = entriesFor(both, { id: "h1", protocol_version: 7 });
  expect(v7.map((e) => [e.kind, e.options])).toEqual([
    ["check", undefined],
    ["drill", { sample_files: 5 }],
  ]);
  expect(entriesFor([check("5%")], { id: "h1", protocol_version: 7 })[0]?.options).toEqual({ read_data_subset: "5%" });
});
