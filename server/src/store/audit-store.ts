import type { AuditStore } from "../domain/store.ts";
import type { AuditEntry } from "../domain/types.ts";
import { type Database, fromJson, toJson } from "./db.ts";

export function auditStore(db: Database): AuditStore {
  return {
    insertAudit(e: Omit<AuditEntry, "seq">) {
      db.query(
        "INSERT INTO audit_log (at, actor_id, actor_name, action, target, detail) VALUES ($at, $actor_id, $actor_name, $action, $target, $detail)",
      ).run({ ...e, detail: toJson(e.detail) });
    },
    listAudit: (limit: number, before_seq: number | null): AuditEntry[] =>
      db
        .query<AuditEntry & { detail: string | null }, [number | null, number | null, number]>(
          "SELECT * FROM audit_log WHERE (? IS NULL OR seq < ?) ORDER BY seq DESC LIMIT ?",
        )
        .all(before_seq, before_seq, limit)
        .map((r) => ({ ...r, detail: fromJson(r.detail, null) })),
  };
}
