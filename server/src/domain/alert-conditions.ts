/**
 * The conditions an alert is about (DESIGN §8.4), decided per host from facts the host list
 * already holds; pure, so the sweep over every host and the check after one event decide alike.
 */
export const CONDITIONS = [
  "backup_failed",
  "backup_warning",
  "backup_stale",
  "host_offline",
  "check_failed",
  "drill_failed",
  "copy_stale",
  "copy_failed",
] as const;
export type Condition = (typeof CONDITIONS)[number];

/** How long a host may be offline before `host_offline` holds, unless a rule says otherwise. */
export const DEFAULT_OFFLINE_AFTER_S = 3600;

export interface HostFacts {
  /** The host's display name, which a drill's summary names. */
  name: string;
  online: boolean;
  last_seen_at: string | null;
  enrolled_at: string;
  /** As the host list computes it (host-view.ts). */
  backup_health: string;
  /** The last finished backup. */
  last_backup: { status: string; error: string | null; finished_at: string | null } | null;
  /** What that backup warned about, when it succeeded with warnings. */
  last_backup_warning: string | null;
  /** The last finished check. */
  last_check: { status: string; error: string | null; finished_at: string | null } | null;
  expected_interval_s: number | null;
  last_successful_backup_at: string | null;
  /** The last finished drill (migration 15): failed when its job failed or its report said so. */
  last_drill: { result: "passed" | "failed"; snapshot_id: string | null; reason: string | null } | null;
  /** Its copy targets' state (copy-targets.ts copyTargetViews, health by copyHealth); none: no targets. */
  copies?: readonly CopyFact[] | undefined;
}

/** What copy_stale and copy_failed need of one copy target's view. */
export interface CopyFact {
  repository_id: string;
  repository_name: string | null;
  health: string;
  latest_snapshot_age_s: number | null;
  last_copy: { error: string | null } | null;
}

export interface Held {
  summary: string;
}

const firstLine = (s: string | null | undefined, fallback: string) =>
  (s ?? "")
    .split("\n")
    .find((l) => l.trim() !== "")
    ?.trim()
    .slice(0, 300) || fallback;

const ago = (from: string | null, now: Date): string => {
  if (!from) return "never";
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(from)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
};

/** An age in the largest unit that fits: `40 s`, `12 min`, `5 h`, `2 d`. */
const age = (s: number): string =>
  s < 120
    ? `${s} s`
    : s < 7200
      ? `${Math.round(s / 60)} min`
      : s < 172_800
        ? `${Math.round(s / 3600)} h`
        : `${Math.round(s / 86_400)} d`;

/** One summary for every target in that health, each named: `copy to offsite is stale: ...; copy to b2 ...`. */
function copySummary(copies: readonly CopyFact[], health: "stale" | "failed"): string | null {
  const of = copies.filter((c) => c.health === health);
  if (of.length === 0) return null;
  return of
    .map((c) => {
      const name = c.repository_name ?? c.repository_id;
      if (health === "failed") return `copy to ${name} failed: ${firstLine(c.last_copy?.error, "no error given")}`;
      const newest =
        c.latest_snapshot_age_s === null
          ? "nothing copied yet"
          : `newest copied snapshot ${age(c.latest_snapshot_age_s)} old`;
      return `copy to ${name} is stale: ${newest}`;
    })
    .join("; ");
}

/**
 * The conditions that hold for a host now, each with a one-line summary. `offlineAfterS` is the
 * shortest `offline_after` of the rules that watch the host (DEFAULT_OFFLINE_AFTER_S without one).
 * Offline is not failed: an offline host's backups are stale only once they are due, as
 * backup_health says; being offline is its own condition.
 */
export function heldConditions(f: HostFacts, now: Date, offlineAfterS: number): Map<Condition, Held> {
  const held = new Map<Condition, Held>();
  if (f.last_backup?.status === "failed") {
    held.set("backup_failed", { summary: `backup failed: ${firstLine(f.last_backup.error, "no error given")}` });
  }
  if (f.backup_health === "warning") {
    held.set("backup_warning", {
      summary: `backup succeeded with warnings: ${firstLine(f.last_backup_warning, "see the job's log")}`,
    });
  }
  if (f.backup_health === "stale") {
    held.set("backup_stale", {
      summary: `no successful backup since ${f.last_successful_backup_at ?? "enrollment"} (last ${ago(f.last_successful_backup_at, now)}); expected every ${Math.round((f.expected_interval_s ?? 0) / 60)} min`,
    });
  }
  if (!f.online) {
    const since = f.last_seen_at ?? f.enrolled_at;
    if (now.getTime() - Date.parse(since) >= offlineAfterS * 1000) {
      held.set("host_offline", { summary: `offline: last seen ${ago(f.last_seen_at, now)}` });
    }
  }
  if (f.last_check?.status === "failed") {
    held.set("check_failed", { summary: `check failed: ${firstLine(f.last_check.error, "no error given")}` });
  }
  // Holds until a later drill passes (the facts keep only the last finished one).
  if (f.last_drill?.result === "failed") {
    const snapshot = f.last_drill.snapshot_id ?? "latest";
    held.set("drill_failed", {
      summary: `restore drill failed on ${f.name} (snapshot ${snapshot}): ${firstLine(f.last_drill.reason, "no reason given")}`,
    });
  }
  // A copy target's health is copyHealth's (copy-targets.ts); here it only names the targets.
  const stale = copySummary(f.copies ?? [], "stale");
  if (stale) held.set("copy_stale", { summary: stale });
  const failed = copySummary(f.copies ?? [], "failed");
  if (failed) held.set("copy_failed", { summary: failed });
  return held;
}

/** A firing alert as the lifecycle compares it. */
export interface FiringRef {
  id: string;
  condition: Condition;
}

/** What changes: conditions that now hold without a firing alert, and firing alerts that no longer hold. */
export function transitions(
  held: ReadonlyMap<Condition, Held>,
  firing: readonly FiringRef[],
): { fire: Array<[Condition, Held]>; resolve: FiringRef[] } {
  const open = new Set(firing.map((a) => a.condition));
  return {
    fire: [...held].filter(([c]) => !open.has(c)),
    resolve: firing.filter((a) => !held.has(a.condition)),
  };
}
