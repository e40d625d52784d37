import { describe, expect, test } from "bun:test";
import { ID_A, ID_B } from "../testing/test-harness.ts";
import { type Capture, collectRepoStats, SnapshotSizes, toSnapshots } from "./follow-up.ts";

describe("toSnapshots", () => {
  test("newer restic's summary gives sizes; 0.14 uses what the agent remembered", () => {
    const sizes = new SnapshotSizes();
    sizes.remember(ID_A.slice(0, 8), { size_bytes: 10, file_count: 1 });
    const { snapshots, skipped } = toSnapshots(
      [
        {
          id: ID_A,
          short_id: ID_A.slice(0, 8),
          time: "2026-11-30T12:00:00.123456789+01:00",
          hostname: "h",
          paths: ["/a"],
        },
        {
          id: ID_B,
          time: "2026-11-30T12:00:00Z",
          hostname: "h",
          paths: ["/b"],
          tags: null,
          summary: { total_bytes_processed: 700, total_files_processed: 7 },
        },
        { id: "not-an-id", time: "2026-11-30T12:00:00Z" },
      ],
      sizes,
    );
    expect(skipped).toBe(1);
    expect(snapshots).toEqual([
      {
        id: ID_A,
        short_id: ID_A.slice(0, 8),
        time: "2026-11-30T12:00:00.123456789+01:00",
        hostname: "h",
        paths: ["/a"],
        size_bytes: 10,
        file_count: 1,
      },
      {
        id: ID_B,
        short_id: ID_B.slice(0, 8),
        time: "2026-11-30T12:00:00Z",
        hostname: "h",
        paths: ["/b"],
        size_bytes: 700,
        file_count: 7,
      },
    ]);
  });

  test("the size memory is bounded and keyed by short id", () => {
    const sizes = new SnapshotSizes(2);
    sizes.remember(ID_A, { size_bytes: 1, file_count: 1 });
    sizes.remember("11111111", { size_bytes: 2, file_count: 2 });
    sizes.remember("22222222", { size_bytes: 3, file_count: 3 });
    expect(sizes.get(ID_A)).toBeUndefined();
    expect(sizes.get("22222222aaaa")?.size_bytes).toBe(3);
  });
});

describe("collectRepoStats", () => {
  test("locks make the repository locked; a failing step is an error", async () => {
    const lock = "f510f7e53dfb5342328f8c6df378f105b93bfd833701f0c0402d80e9bc966967";
    const capture: Capture = async (args) => {
      if (args[0] === "list") return { ok: true, stdout: [lock] };
      return {
        ok: true,
        stdout: [JSON.stringify({ total_size: args.includes("--mode=raw-data") ? 0 : 5, snapshots_count: 0 })],
      };
    };
    const r = await collectRepoStats(capture, { at: "2026-11-30T12:00:00Z", status: "failed" });
    expect(r).toEqual({
      ok: true,
      stats: {
        size_bytes: 0,
        snapshot_count: 0,
        dedup_ratio: 0,
        lock_state: "locked",
        last_check_at: "2026-11-30T12:00:00Z",
        last_check_status: "failed",
      },
    });
    const failing: Capture = async () => ({ ok: false, error: "boom" });
    expect(await collectRepoStats(failing, null)).toEqual({ ok: false, error: "boom" });
  });
});
