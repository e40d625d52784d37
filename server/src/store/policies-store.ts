import type { HostPolicyState, PoliciesStore, PolicyRow, PolicyScheduleRow } from "../domain/store.ts";
import { type Database, fromJson, params, toJson } from "./db.ts";
import { fromColumns, toColumns } from "./schedules-store.ts";

type Row = Omit<PolicyRow, "selector" | "enabled" | "schedules" | "copy_targets"> & {
  selector: string;
  enabled: number;
  copy_targets: string;
};
type ScheduleRow = Omit<
  PolicyScheduleRow,
  "paths" | "excludes" | "tags" | "retention_policy" | "options" | "stdin_command" | "enabled"
> & {
  position: number;
  stdin_command: string | null;
  paths: string | null;
  excludes: string | null;
  tags: string | null;
  retention_policy: string | null;
  options: string | null;
  enabled: number;
};

const cols =
  "id, name, selector, repository_id, priority, enabled, copy_targets, max_offline_age, created_at, updated_at";
const scheduleCols =
  "id, policy_id, position, kind, cron_expr, timezone, jitter, paths, excludes, tags, retention_policy, options, pre_hook, post_hook, stdin_command, stdin_filename, enabled";

const toSchedule = ({ position: _, ...r }: ScheduleRow): PolicyScheduleRow => fromColumns(r);

export function policiesStore(db: Database): PoliciesStore {
  const schedulesOf = (policy_id: string) =>
    db
      .query<ScheduleRow, [string]>(
        `SELECT ${scheduleCols} FROM policy_schedules WHERE policy_id = ? ORDER BY position`,
      )
      .all(policy_id)
      .map(toSchedule);
  const toPolicy = (r: Row): PolicyRow => ({
    ...r,
    selector: fromJson(r.selector, {}),
    enabled: r.enabled === 1,
    copy_targets: fromJson(r.copy_targets, []),
    schedules: schedulesOf(r.id),
  });
  const fields = (p: PolicyRow) =>
    params({
      id: p.id,
      name: p.name,
      selector: JSON.stringify(p.selector),
      repository_id: p.repository_id,
      priority: p.priority,
      enabled: p.enabled ? 1 : 0,
      copy_targets: JSON.stringify(p.copy_targets),
      max_offline_age: p.max_offline_age,
      created_at: p.created_at,
      updated_at: p.updated_at,
    });
  function writeSchedules(p: PolicyRow) {
    db.query("DELETE FROM policy_schedules WHERE policy_id = ?").run(p.id);
    const insert = db.query(
      `INSERT INTO policy_schedules (${scheduleCols})
       VALUES ($id, $policy_id, $position, $kind, $cron_expr, $timezone, $jitter, $paths, $excludes, $tags,
         $retention_policy, $options, $pre_hook, $post_hook, $stdin_command, $stdin_filename, $enabled)`,
    );
    for (const [position, s] of p.schedules.entries()) {
      insert.run(params({ ...toColumns(s), policy_id: p.id, position }));
    }
  }
  return {
    insertPolicy(p: PolicyRow) {
      db.query(
        `INSERT INTO policies (${cols})
         VALUES ($id, $name, $selector, $repository_id, $priority, $enabled, $copy_targets, $max_offline_age,
           $created_at, $updated_at)`,
      ).run(fields(p));
      writeSchedules(p);
    },
    updatePolicy(p: PolicyRow) {
      db.query(
        `UPDATE policies SET name = $name, selector = $selector, repository_id = $repository_id,
           priority = $priority, enabled = $enabled, copy_targets = $copy_targets,
           max_offline_age = $max_offline_age, updated_at = $updated_at
         WHERE id = $id`,
      ).run(fields(p));
      writeSchedules(p);
    },
    policyById(id: string) {
      const r = db.query<Row, [string]>(`SELECT ${cols} FROM policies WHERE id = ?`).get(id);
      return r ? toPolicy(r) : null;
    },
    policyByName(name: string) {
      // NOCASE collation: case-insensitive.
      const r = db.query<Row, [string]>(`SELECT ${cols} FROM policies WHERE name = ?`).get(name);
      return r ? toPolicy(r) : null;
    },
    listPolicies: () =>
      db.query<Row, []>(`SELECT ${cols} FROM policies ORDER BY priority DESC, name, id`).all().map(toPolicy),
    deletePolicy: (id: string) => db.query("DELETE FROM policies WHERE id = ?").run(id).changes > 0,
    setHostPolicyState(host_id: string, s: HostPolicyState) {
      db.query(
        `UPDATE hosts SET policy_repository_id = ?, repository_policy_id = ?, policy_conflict = ? WHERE id = ?`,
      ).run(s.policy_repository_id, s.repository_policy_id, toJson(s.policy_conflict), host_id);
    },
    hostsWithPolicyRepository: (repository_id: string) =>
      db
        .query<{ id: string }, [string]>("SELECT id FROM hosts WHERE policy_repository_id = ? ORDER BY id")
        .all(repository_id)
        .map((r) => r.id),
    hostsOfPolicy: (policy_id: string) =>
      db
        .query<{ id: string }, [string, string, string]>(
          `SELECT host_id AS id FROM schedules WHERE policy_id = ?
           UNION SELECT id FROM hosts WHERE repository_policy_id = ?
           UNION SELECT id FROM hosts WHERE instr(policy_conflict, ?) > 0
           ORDER BY id`,
        )
        .all(policy_id, policy_id, `"${policy_id}"`)
        .map((r) => r.id),
  };
}
