import type { JobSpecs } from "../../../protocol/index.ts";
import { SNAPSHOT_HEX_ID, tagChangeProblem } from "../../../protocol/index.ts";
import { audit } from "./audit.ts";
import type { Actor, DomainContext } from "./deps.ts";
import { DomainError, notFound } from "./errors.ts";
import type { Jobs } from "./jobs.ts";
import { requireAdmin } from "./permissions.ts";
import type { Job, StoredSnapshot } from "./types.ts";

export type TagChange = Omit<JobSpecs["tag"], "snapshot_id">;

/**
 * The one snapshot of host :id's mirror (its own snapshots, as its agent reported them) that `id`
 * names: a full id, or a prefix of one (8 or more hex digits) that only it has. Another host's
 * snapshot in a shared repository is not in this host's mirror, so it is refused here; the agent
 * refuses it again (restic ignores --host for ids).
 */
export function mirrorSnapshot(list: readonly StoredSnapshot[], hostId: string, id: string): StoredSnapshot {
  if (!SNAPSHOT_HEX_ID.test(id)) {
    throw new DomainError("invalid", "snapshot_id: must be a snapshot id (8-64 hex digits)", "snapshot_id");
  }
  const hits = list.filter((s) => s.id.startsWith(id));
  if (hits.length > 1) {
    throw new DomainError(
      "invalid",
      `snapshot_id: ${id} names ${hits.length} snapshots: give more digits`,
      "snapshot_id",
    );
  }
  const hit = hits[0];
  if (!hit) {
    throw notFound(
      `snapshot ${id} of host ${hostId} (it is not in the host's snapshot list; another host's snapshot in a ` +
        "shared repository can only be changed from that host)",
    );
  }
  return hit;
}

/**
 * Forget one snapshot and edit its tags: jobs on the host (both write the repository under a
 * lock), admin only and audited, each checked against the host's own snapshot mirror first.
 */
export function createSnapshotActions(deps: DomainContext, jobs: Jobs) {
  const { store } = deps;

  function own(hostId: string, snapshotId: string): StoredSnapshot {
    if (!store.hostById(hostId)) throw notFound(`host ${hostId}`);
    return mirrorSnapshot(store.snapshotsForHost(hostId), hostId, snapshotId);
  }

  return {
    /** A forget of this one snapshot (not pruned: the space is freed by the next prune). */
    forget(actor: Actor, hostId: string, snapshotId: string): Job {
      requireAdmin(actor, "forgetting a snapshot");
      const snap = own(hostId, snapshotId);
      const job = jobs.runNow(actor, hostId, { kind: "forget", spec: { snapshot_ids: [snap.id] } });
      audit(deps, actor, "snapshot.forget", hostId, { snapshot_id: snap.id, job_id: job.id });
      return job;
    },

    /** A tag job: `set` replaces the snapshot's tags (its fleet-* tags kept), else add/remove. */
    tag(actor: Actor, hostId: string, snapshotId: string, change: TagChange): Job {
      requireAdmin(actor, "editing a snapshot's tags");
      const snap = own(hostId, snapshotId);
      const problem = tagChangeProblem(change);
      if (problem) throw new DomainError("invalid", `${problem.field}: ${problem.problem}`, problem.field);
      const job = jobs.runNow(actor, hostId, { kind: "tag", spec: { snapshot_id: snap.id, ...change } });
      audit(deps, actor, "snapshot.tag", hostId, { snapshot_id: snap.id, job_id: job.id, ...change });
      return job;
    },

    /** Both snapshots of a diff, checked to be host :id's own (full ids back). */
    pair(hostId: string, from: string, to: string): { from: string; to: string } {
      const a = own(hostId, from);
      const b = own(hostId, to);
      if (a.id === b.id) throw new DomainError("invalid", "to: compare two different snapshots", "to");
      return { from: a.id, to: b.id };
    },
  };
}

export type SnapshotActions = ReturnType<typeof createSnapshotActions>;
