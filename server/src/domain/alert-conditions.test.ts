import { expect, test } from "bun:test";
import { type HostFacts, heldConditions, transitions } from "./alert-conditions.ts";

const now = new Date("2026-12-02T12:00:00Z");
const facts = (over: Partial<HostFacts> = {}): HostFacts => ({
  name: "web-1",
  online: true,
  last_seen_at: "2026-12-02T11:59:50Z",
  enrolled_at: "2026-11-01T00:00:00Z",
  backup_health: "ok",
  last_backup: { status: "succeeded", error: null, finished_at: "2026-12-02T11:00:00Z" },
  last_backup_warning: null,
  last_check: null,
  expected_interval_s: 3600,
  last_successful_backup_at: "2026-12-02T11:00:00Z",
  last_drill: null,
  ...over,
});
const held = (f: HostFacts, offlineAfterS = 3600) => [...heldConditions(f, now, offlineAfterS).keys()];

test("a healthy host holds nothing", () => {
  expect(held(facts())).toEqual([]);
});

test("each condition from the facts the host list holds, with a summary", () => {
  const failed = heldConditions(
    facts({
      backup_health: "failed",
      last_backup: { status: "failed", error: "\nFatal: wrong password or no key found\n", finished_at: null },
    }),
    now,
    3600,
  );
  expect(failed.get("backup_failed")?.summary).toBe("backup failed: Fatal: wrong password or no key found");
  const warned = heldConditions(
    facts({ backup_health: "warning", last_backup_warning: "some backup paths do not exist and were skipped" }),
    now,
    3600,
  );
  expect(warned.get("backup_warning")?.summary).toBe(
    "backup succeeded with warnings: some backup paths do not exist and were skipped",
  );
  expect(held(facts({ backup_health: "stale" }))).toEqual(["backup_stale"]);
  expect(held(facts({ last_check: { status: "failed", error: "pack 1f2e… is damaged", finished_at: null } }))).toEqual([
    "check_failed",
  ]);
});

test("offline holds only after the threshold; offline is not a failed or stale backup", () => {
  const away = facts({ online: false, last_seen_at: "2026-12-02T11:30:00Z" });
  expect(held(away)).toEqual([]);
  expect(held(away, 600)).toEqual(["host_offline"]);
  // Never seen at all: counted from enrollment.
  expect(held(facts({ online: false, last_seen_at: null }))).toEqual(["host_offline"]);
});

test("transitions: what starts to hold fires, what stopped holding resolves, the rest is left", () => {
  const now2 = heldConditions(facts({ backup_health: "stale", online: false, last_seen_at: null }), now, 3600);
  const t = transitions(now2, [
    { id: "a1", condition: "backup_stale" },
    { id: "a2", condition: "backup_failed" },
  ]);
  expect(t.fire.map(([c]) => c)).toEqual(["host_offline"]);
  expect(t.resolve).toEqual([{ id: "a2", condition: "backup_failed" }]);
});

test("drill_failed holds while the last drill failed, naming the host, the snapshot and the reason", () => {
  const failed = heldConditions(
    facts({
      last_drill: { result: "failed", snapshot_id: "3f2a9c1d", reason: "2 files differ from the live files\nmore" },
    }),
    now,
    3600,
  );
  expect([...failed.keys()]).toEqual(["drill_failed"]);
  expect(failed.get("drill_failed")?.summary).toBe(
    "restore drill failed on web-1 (snapshot 3f2a9c1d): 2 files differ from the live files",
  );
  const unnamed = heldConditions(
    facts({ last_drill: { result: "failed", snapshot_id: null, reason: null } }),
    now,
    3600,
  );
  expect(unnamed.get("drill_failed")?.summary).toBe("restore drill failed on web-1 (snapshot latest): no reason given");
  expect(held(facts({ last_drill: { result: "passed", snapshot_id: "3f2a9c1d", reason: null } }))).toEqual([]);
});

test("copy_stale and copy_failed name each target in that state; ok, pending and unsupported ones hold nothing", () => {
  const copy = (name: string, health: string, age: number | null = null, error: string | null = null) => ({
    repository_id: `repo_${name}`,
    repository_name: name,
    health,
    latest_snapshot_age_s: age,
    last_copy: error === null ? null : { error },
  });
  expect(held(facts({ copies: [copy("a", "ok"), copy("b", "pending"), copy("c", "unsupported")] }))).toEqual([]);
  const h = heldConditions(
    facts({
      copies: [
        copy("offsite", "stale", 2 * 86_400 + 600),
        copy("b2", "stale"),
        copy("usb", "failed", 3600, "\nFatal: unable to open repository at /mnt/usb\n"),
        copy("nas", "ok"),
      ],
    }),
    now,
    3600,
  );
  expect(h.get("copy_stale")?.summary).toBe(
    "copy to offsite is stale: newest copied snapshot 2 d old; copy to b2 is stale: nothing copied yet",
  );
  expect(h.get("copy_failed")?.summary).toBe("copy to usb failed: Fatal: unable to open repository at /mnt/usb");
  // A target whose repository is gone is named by its id.
  const gone = heldConditions(facts({ copies: [{ ...copy("x", "stale", 90), repository_name: null }] }), now, 3600);
  expect(gone.get("copy_stale")?.summary).toBe("copy to repo_x is stale: newest copied snapshot 90 s old");
});
