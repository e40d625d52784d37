import { describe, expect, test } from "bun:test";
import type { DrillFile } from "../../../protocol/index.ts";
import { decodeAgentMessage, encode, MAX_FRAME_BYTES } from "../../../protocol/index.ts";
import { drillReport } from "./drill-report.ts";
import { MAX_INCLUDE_CHARS } from "./drill-sample.ts";

const ID = "c".repeat(64);
const file = (path: string, live: DrillFile["live"], size = 10): DrillFile =>
  live === "not_restored"
    ? { path, size, sha256: null, live, error: "ciphertext verification failed" }
    : { path, size, sha256: "a".repeat(64), live };

describe("drill report", () => {
  test("a pass: every file restored and verified; changed and missing live files do not fail it", () => {
    const files = [file("/a/1", "matched"), file("/a/2", "changed", 5), file("/b/3", "missing", 7)];
    expect(drillReport({ snapshotId: ID, files, restore: { exitCode: 0 } })).toEqual({
      snapshot_id: ID,
      files_requested: 3,
      files_verified: 3,
      live_matched: 1,
      mismatched: [],
      bytes: 22,
      result: "passed",
      files,
    });
  });

  test("never passed with 0 files", () => {
    const r = drillReport({ snapshotId: ID, files: [], emptyReason: "snapshot cccccccc has no regular file" });
    expect(r).toMatchObject({ result: "failed", files_requested: 0, reason: "snapshot cccccccc has no regular file" });
    expect(drillReport({ snapshotId: ID, files: [] }).result).toBe("failed");
  });

  test("a failed restore names restic's exit, its error and each file it did not restore", () => {
    const files = [file("/a/1", "matched"), file("/a/2", "not_restored")];
    const r = drillReport({
      snapshotId: ID,
      files,
      restore: { exitCode: 1, error: "ignoring error for /a/2: ciphertext verification failed" },
    });
    expect(r).toMatchObject({
      result: "failed",
      files_requested: 2,
      files_verified: 1,
      bytes: 10,
      restic_error: "ignoring error for /a/2: ciphertext verification failed",
    });
    expect(r.reason).toBe(
      "restic restore --verify failed with exit code 1; 1 of 2 sampled files were not restored: /a/2",
    );
  });

  test("a mismatch fails the drill and is listed; long lists are shortened in the reason only", () => {
    const files = Array.from({ length: 8 }, (_, i) => file(`/m/${i}`, "mismatch"));
    const r = drillReport({ snapshotId: ID, files, restore: { exitCode: 0 } });
    expect(r.mismatched).toHaveLength(8);
    expect(r.reason).toContain("8 restored files differ from the live file");
    expect(r.reason).toContain("/m/4 and 3 more");
  });

  test("the largest report (1000 files, the argv cap's worth of paths) fits one job.finished frame", () => {
    const pathLength = Math.floor(MAX_INCLUDE_CHARS / 1000);
    const path = (i: number) => `/${String(i).padStart(pathLength - 1, "x")}`;
    const worst = (live: DrillFile["live"]) => {
      const files = Array.from({ length: 1000 }, (_, i) => ({ ...file(path(i), live), error: "e".repeat(200) }));
      return drillReport({ snapshotId: ID, files, restore: { exitCode: 1, error: "r".repeat(2000) } });
    };
    for (const live of ["mismatch", "not_restored"] as const) {
      const frame = encode("job.finished", {
        job_id: "j",
        status: "failed",
        exit_code: 1,
        finished_at: "2026-12-02T05:00:00Z",
        stats: { drill: worst(live), failure_reason: "drill_failed" },
      });
      expect(frame.length).toBeLessThan(MAX_FRAME_BYTES);
      expect(decodeAgentMessage(frame).ok).toBe(true);
    }
  });
});
