import { describe, expect, test } from "bun:test";
import type { CommandRunPayload } from "../../../protocol/index.ts";
import { buildPlan, type GlobalFlags } from "./argv.ts";
import { diffArgv, parseDiffLine } from "./diff.ts";
import type { ResticSnapshot } from "./restic-json.ts";
import { forgetIdsArgv, successorOf, tagArgv } from "./snapshot-actions.ts";

const v014: GlobalFlags = { features: { retryLock: false }, retryLock: "1m", platform: "linux", host: "web-a" };
const v018: GlobalFlags = { ...v014, features: { retryLock: true } };
const ID = "3f1e2d4c5b6a79880f1e2d3c4b5a69788f1e2d3c4b5a69788f1e2d3c4b5a6978";

const refusal = (cmd: CommandRunPayload) => {
  const r = buildPlan(cmd, v014);
  return r.ok ? null : r.error;
};

describe("forget by id and tag: plans and argv", () => {
  test("a forget by snapshot_ids is a looked-up action of this host, then no step unless prune", () => {
    const r = buildPlan(
      { job_id: "j", kind: "forget", spec: { snapshot_ids: ["3f1e2d4c"] } },
      { ...v014, machineHost: "vm1" },
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.value.steps).toEqual([]);
    expect(r.value.snapshotAction).toEqual({ action: "forget", ids: ["3f1e2d4c"], hosts: ["web-a", "vm1"] });
    const pruned = buildPlan({ job_id: "j", kind: "forget", spec: { snapshot_ids: [ID], prune: true } }, v014);
    expect(pruned.ok && pruned.value.steps).toEqual([["prune", "--json"]]);
    expect(forgetIdsArgv([ID], v018)).toEqual(["forget", "--json", "--retry-lock=1m", "--host=web-a", "--", ID]);
  });

  test("refusals: ids and a policy together, latest, reserved tags, set with add", () => {
    expect(refusal({ job_id: "j", kind: "forget", spec: { snapshot_ids: [ID], policy: { keep_last: 1 } } })).toContain(
      "not both",
    );
    expect(refusal({ job_id: "j", kind: "forget", spec: { snapshot_ids: ["latest"] } })).toContain("8-64 hex");
    expect(refusal({ job_id: "j", kind: "tag", spec: { snapshot_id: ID, remove: ["fleet-drill"] } })).toContain(
      'starts with "fleet-"',
    );
    expect(refusal({ job_id: "j", kind: "tag", spec: { snapshot_id: ID, set: ["a"], add: ["b"] } })).toContain(
      "not both",
    );
    expect(refusal({ job_id: "j", kind: "tag", spec: { snapshot_id: ID } })).toContain("needs set, add or remove");
    expect(refusal({ job_id: "j", kind: "tag", spec: { snapshot_id: ID, add: ["-rf"] } })).toContain("'-'");
    expect(refusal({ job_id: "j", kind: "tag" })).toContain("needs a spec");
  });

  test("tag argv: set keeps the snapshot's fleet-* tags, an empty set is --set=, add and remove as flags", () => {
    expect(tagArgv({ snapshot_id: ID, set: ["weekly"] }, ID, ["fleet-drill", "old"], v014)).toEqual([
      "tag",
      "--json",
      "--host=web-a",
      "--set=fleet-drill",
      "--set=weekly",
      "--",
      ID,
    ]);
    expect(tagArgv({ snapshot_id: ID, set: [] }, ID, ["old"], v014)).toEqual([
      "tag",
      "--json",
      "--host=web-a",
      "--set=",
      "--",
      ID,
    ]);
    expect(tagArgv({ snapshot_id: ID, add: ["a"], remove: ["b"] }, ID, [], v014)).toEqual([
      "tag",
      "--json",
      "--host=web-a",
      "--add=a",
      "--remove=b",
      "--",
      ID,
    ]);
  });

  test("the tagged snapshot's successor: same first original and time, another id", () => {
    const old: ResticSnapshot = { id: "aa", time: "t1", original: "00" };
    const list: ResticSnapshot[] = [
      { id: "bb", time: "t1", original: "11" },
      { id: "cc", time: "t1", original: "00" },
    ];
    expect(successorOf(old, list)?.id).toBe("cc");
    expect(successorOf({ id: "11", time: "t1" }, list)?.id).toBe("bb");
    expect(successorOf({ id: "zz", time: "t1" }, list)).toBeUndefined();
  });
});

describe("diff --json lines (0.14 and 0.18 print the same)", () => {
  test("changes: a trailing slash is a directory; + - and other marks", () => {
    expect(parseDiffLine('{"message_type":"change","path":"/srv/new/","modifier":"+"}')).toEqual({
      change: { path: "/srv/new", type: "dir", change: "added", modifier: "+" },
    });
    expect(parseDiffLine('{"message_type":"change","path":"/srv/a","modifier":"-"}')).toMatchObject({
      change: { change: "removed", type: "file" },
    });
    expect(parseDiffLine('{"message_type":"change","path":"/srv/b","modifier":"U"}')).toMatchObject({
      change: { change: "modified", modifier: "U" },
    });
  });

  test("statistics, and anything else is ignored", () => {
    const line =
      '{"message_type":"statistics","source_snapshot":"a","target_snapshot":"b","changed_files":1,' +
      '"added":{"files":2,"dirs":1,"others":0,"data_blobs":3,"tree_blobs":5,"bytes":2454},' +
      '"removed":{"files":1,"dirs":0,"others":0,"data_blobs":2,"tree_blobs":4,"bytes":1759}}';
    expect(parseDiffLine(line)).toEqual({
      stats: {
        changed_files: 1,
        added: { files: 2, dirs: 1, others: 0, bytes: 2454 },
        removed: { files: 1, dirs: 0, others: 0, bytes: 1759 },
      },
    });
    expect(parseDiffLine("comparing snapshot 9173cc69 to d31c6738:")).toBeNull();
    expect(parseDiffLine('{"message_type":"exit_error","code":1,"message":"x"}')).toBeNull();
    expect(parseDiffLine("{not json")).toBeNull();
    expect(diffArgv("a", "b")).toEqual(["diff", "--json", "--no-lock", "--", "a", "b"]);
  });
});
