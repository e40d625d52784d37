// The policy recomputation alone, without the HTTP request and without any push: the server's
// own domain (`createDomain`, the real SQLite store) over a stopped server's data directory,
// with a link to agents on which nobody is connected. Each round changes every schedule's cron
// of one policy through `policies.update`, exactly as PATCH /api/v1/policies/:id does, and times
// its transaction (the store's outermost `tx`: the policy write, the audit entry, the
// recomputation of every matched host, the commit). Beside it, in alternation, the baseline:
// the same rows (each host's copies of the policy's schedules, and its schedule version)
// written by hand-written SQL in one transaction, on the same file with the server's settings.
// Usage: bun bench/load/policy-recompute.ts DATA_DIR POLICY_ID ROUNDS   (prints JSON on stdout)
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { realClock } from "../../server/src/clock.ts";
import type { AgentLink } from "../../server/src/domain/agent-link.ts";
import { createDomain } from "../../server/src/domain/domain.ts";
import { EventBus } from "../../server/src/domain/events.ts";
import type { PolicyScheduleInput } from "../../server/src/domain/policies.ts";
import { createSecretBox, loadOrCreateKey } from "../../server/src/domain/secrets.ts";
import type { Store } from "../../server/src/domain/store.ts";
import { silentLogger } from "../../server/src/log.ts";
import { DATABASE_FILE } from "../../server/src/store/db.ts";
import { openStore } from "../../server/src/store/store.ts";

export interface RecomputeRound {
  /** The store transaction of policies.update. */
  txMs: number;
  /** The whole policies.update call: the transaction, then the (empty) push and the policy's view. */
  updateMs: number;
  /** The baseline: the same rows by hand-written SQL, one transaction. */
  bareMs: number;
  /** Schedule rows the baseline rewrote (the policy's copies), and hosts it bumped. */
  rows: number;
  hosts: number;
}

export interface RecomputeProbe {
  matchedHosts: number;
  schedules: number;
  rounds: RecomputeRound[];
}

/** The cron with its minute field set to `m` (two digits: every round writes rows of the same size). */
const withMinute = (cron: string, m: number) => cron.replace(/^\S+/, String(m));

const [dataDir, policyId, roundsArg] = process.argv.slice(2);
if (!dataDir || !policyId) {
  console.error("usage: bun bench/load/policy-recompute.ts DATA_DIR POLICY_ID ROUNDS");
  process.exit(2);
}
const rounds = Number(roundsArg ?? 3);
const path = join(dataDir, DATABASE_FILE);

const nobody: AgentLink = { send: () => false, isConnected: () => false, isSecure: () => true, close() {} };
const base = openStore(path);
let depth = 0;
let lastTxMs = 0;
const store: Store = {
  ...base,
  tx<T>(fn: () => T): T {
    depth += 1;
    const t0 = performance.now();
    try {
      return base.tx(fn);
    } finally {
      depth -= 1;
      if (depth === 0) lastTxMs = performance.now() - t0;
    }
  },
};
const domain = createDomain({
  store,
  clock: realClock,
  agents: nobody,
  events: new EventBus(),
  secrets: createSecretBox(loadOrCreateKey(dataDir, { mustExist: true })),
  log: silentLogger,
});

// The baseline's own connection, with the server's settings (store/db.ts openDatabase).
const bare = new Database(path, { strict: true });
bare.exec("PRAGMA journal_mode = WAL");
bare.exec("PRAGMA synchronous = FULL");
bare.exec("PRAGMA foreign_keys = ON");
bare.exec("PRAGMA busy_timeout = 5000");
const admin = bare
  .query<{ id: string; username: string }, []>("SELECT id, username FROM users WHERE role = 'admin' LIMIT 1")
  .get();
if (!admin) throw new Error("no admin user in the data directory");
const actor = { user_id: admin.id, username: admin.username, role: "admin" as const };
const copies = bare.query<{ id: string; host_id: string }, [string]>(
  "SELECT id, host_id FROM schedules WHERE policy_id = ?",
);
const setCron = bare.query("UPDATE schedules SET cron_expr = ?, updated_at = ? WHERE id = ?");
const bump = bare.query("UPDATE hosts SET schedule_version = schedule_version + 1 WHERE id = ?");

const out: RecomputeProbe = { matchedHosts: 0, schedules: 0, rounds: [] };
for (let r = 0; r < rounds; r++) {
  const shown = domain.policies.show(policyId);
  out.matchedHosts = shown.matched_hosts;
  out.schedules = shown.schedules.length;
  const schedules: PolicyScheduleInput[] = shown.schedules.map((s) => ({
    id: s.id,
    kind: s.kind,
    cron_expr: withMinute(s.cron_expr, 30 + 2 * r),
    paths: s.paths,
    excludes: s.excludes,
    tags: s.tags,
    retention_policy: s.retention_policy,
    options: s.options,
    enabled: s.enabled,
  }));
  const t0 = performance.now();
  domain.policies.update(actor, policyId, { schedules });
  const updateMs = performance.now() - t0;
  const txMs = lastTxMs;

  const b0 = performance.now();
  const written = bare
    .transaction(() => {
      const at = new Date().toISOString();
      const rows = copies.all(policyId);
      const hosts = new Set<string>();
      for (const row of rows) {
        setCron.run(`${21 + 2 * r} 1 * * *`, at, row.id);
        hosts.add(row.host_id);
      }
      for (const h of hosts) bump.run(h);
      return { rows: rows.length, hosts: hosts.size };
    })
    .immediate();
  const bareMs = performance.now() - b0;
  out.rounds.push({ txMs, updateMs, bareMs, ...written });
}
bare.close();
base.close();
console.log(JSON.stringify(out));
