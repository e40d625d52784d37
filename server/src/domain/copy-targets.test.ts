import { expect, test } from "bun:test";
import { copyHealth, effectiveCopyTargets, latestTick } from "./copy-targets.ts";
import type { CopyTargetRow, PolicyRow } from "./store.ts";

const now = new Date("2026-12-02T12:00:00Z");
const at = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000).toISOString();
const base = { now, protocolVersion: 9, intervalS: 86_400, lastCopyStatus: null } as const;

test("copy health: ok after the backup, pending within the grace, stale past it, failed, unsupported", () => {
  const backup = at(30);
  expect(copyHealth({ ...base, lastBackupSuccessAt: null, lastCopySuccessAt: null })).toBe("pending");
  expect(copyHealth({ ...base, lastBackupSuccessAt: backup, lastCopySuccessAt: at(29) })).toBe("ok");
  expect(copyHealth({ ...base, lastBackupSuccessAt: backup, lastCopySuccessAt: at(60 * 24) })).toBe("pending");
  // A daily backup's grace is 1 h (the interval, capped at 1 h).
  expect(copyHealth({ ...base, lastBackupSuccessAt: at(61), lastCopySuccessAt: at(60 * 24) })).toBe("stale");
  expect(copyHealth({ ...base, lastBackupSuccessAt: at(61), lastCopySuccessAt: null })).toBe("stale");
  // An hourly backup: 1 h of grace as well; a 10-minute one: 10 min.
  expect(copyHealth({ ...base, intervalS: 600, lastBackupSuccessAt: at(11), lastCopySuccessAt: null })).toBe("stale");
  expect(
    copyHealth({ ...base, lastBackupSuccessAt: backup, lastCopySuccessAt: at(29), lastCopyStatus: "failed" }),
  ).toBe("failed");
  expect(copyHealth({ ...base, protocolVersion: 8, lastBackupSuccessAt: backup, lastCopySuccessAt: null })).toBe(
    "unsupported",
  );
  // Before its first hello the version is unknown: judged as any other.
  expect(copyHealth({ ...base, protocolVersion: null, lastBackupSuccessAt: backup, lastCopySuccessAt: at(1) })).toBe(
    "ok",
  );
});

test("copy health on the target's own schedule: lags only past the schedule's interval plus grace", () => {
  const daily = { ...base, scheduleIntervalS: 86_400 };
  // Hourly backups, a nightly copy: a backup newer than the last copy is expected.
  expect(copyHealth({ ...daily, lastBackupSuccessAt: at(10), lastCopySuccessAt: at(60 * 10) })).toBe("ok");
  expect(copyHealth({ ...daily, lastBackupSuccessAt: at(10), lastCopySuccessAt: at(60 * 25 + 1) })).toBe("stale");
  expect(copyHealth({ ...daily, lastBackupSuccessAt: at(60 * 2), lastCopySuccessAt: null })).toBe("pending");
  expect(copyHealth({ ...daily, lastBackupSuccessAt: at(60 * 25 + 1), lastCopySuccessAt: null })).toBe("stale");
});

const target = (repository_id: string, over: Partial<CopyTargetRow> = {}): CopyTargetRow => ({
  repository_id,
  retention_policy: null,
  prune: false,
  schedule: null,
  ...over,
});
const policy = (id: string, labels: Record<string, string>, targets: CopyTargetRow[], enabled = true) =>
  ({ id, name: id, selector: { labels }, enabled, copy_targets: targets }) as unknown as PolicyRow;

test("a host's targets: its own first, then its matching enabled policies' in order, each repository once, never its main one", () => {
  const policies = [
    policy("high", { env: "prod" }, [target("repo_b", { prune: true }), target("repo_main")]),
    policy("off", {}, [target("repo_x")], false),
    policy("other", { env: "dev" }, [target("repo_y")]),
    policy("low", {}, [target("repo_b"), target("repo_c")]),
  ];
  const got = effectiveCopyTargets([target("repo_a")], policies, {
    labels: { env: "prod" },
    policy_repository_id: "repo_main",
  });
  expect(got.map((t) => [t.repository_id, t.source.kind === "policy" ? t.source.policy_id : "host"])).toEqual([
    ["repo_a", "host"],
    ["repo_b", "high"],
    ["repo_c", "low"],
  ]);
  // The first one's settings win.
  expect(got[1]?.prune).toBe(true);
});

test("the latest tick of a target's schedule, in the host's zone", () => {
  expect(latestTick("0 3 * * *", "UTC", now)).toBe("2026-12-02T03:00:00.000Z");
  expect(latestTick("0 3 * * *", "Europe/Berlin", now)).toBe("2026-12-02T02:00:00.000Z");
  expect(latestTick("0 12 * * *", "UTC", now)).toBe("2026-12-02T12:00:00.000Z");
  expect(latestTick("not cron", null, now)).toBeNull();
});
