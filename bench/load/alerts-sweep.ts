// The alert sweep alone: the server's own domain (`createDomain` over the real SQLite store) on
// a copy of the seeded data directory, with a ManualClock, nobody connected. First ROUNDS sweeps
// in the steady state (nothing changes: every condition already decided), each beside the host
// list read alone (`hosts.list()`, what every sweep starts with), in alternation. Then the clock
// moves past the onset (the first sweep tick after it, 10 s on) and one sweep fires the alerts
// of the hosts gone stale, timed; then the batch window passes and the delivery's batch (items
// into one message per channel), timed; the same two channels and rule as the end-to-end run. No message is sent: the end-to-end run does that.
// Usage: bun bench/load/alerts-sweep.ts DATA_DIR ROUNDS CLOCK_ISO LAST_ONSET_ISO   (JSON on stdout)
import { Database } from "bun:sqlite";
import { ManualClock } from "../../server/src/clock.ts";
import type { AgentLink } from "../../server/src/domain/agent-link.ts";
import { createDomain } from "../../server/src/domain/domain.ts";
import { EventBus } from "../../server/src/domain/events.ts";
import { createSecretBox, loadOrCreateKey } from "../../server/src/domain/secrets.ts";
import { DEFAULT_SETTINGS } from "../../server/src/domain/settings.ts";
import { silentLogger } from "../../server/src/log.ts";
import { DATABASE_FILE } from "../../server/src/store/db.ts";
import { openStore } from "../../server/src/store/store.ts";

export interface SweepProbe {
  hosts: number;
  /** Steady-state sweeps, ms each. */
  sweepMs: number[];
  /** hosts.list() alone, ms each, alternating with the sweeps. */
  listMs: number[];
  /** The sweep that saw the onset: ms, and the alerts it made firing. */
  onsetSweepMs: number;
  fired: number;
  /** The delivery's batch after the window: ms, and the messages it made. */
  batchMs: number;
  messages: number;
}

const [dataDir, roundsArg, clockIso, lastOnsetIso] = process.argv.slice(2);
if (!dataDir || !clockIso || !lastOnsetIso) {
  console.error("usage: bun bench/load/alerts-sweep.ts DATA_DIR ROUNDS CLOCK_ISO LAST_ONSET_ISO");
  process.exit(2);
}
const rounds = Number(roundsArg ?? 30);
const clock = new ManualClock(clockIso);
const nobody: AgentLink = { send: () => false, isConnected: () => false, isSecure: () => true, close() {} };
const store = openStore(`${dataDir}/${DATABASE_FILE}`);
const domain = createDomain({
  store,
  clock,
  agents: nobody,
  events: new EventBus(),
  secrets: createSecretBox(loadOrCreateKey(dataDir, { mustExist: true })),
  log: silentLogger,
});
const time = (fn: () => unknown) => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};
const firing = () => store.firingAlerts().length;

// The same channels (webhooks: nothing is sent here) and rule as the end-to-end run.
const admin = (() => {
  const db = new Database(`${dataDir}/${DATABASE_FILE}`, { readonly: true });
  try {
    return db
      .query<{ id: string; username: string }, []>("SELECT id, username FROM users WHERE role = 'admin' LIMIT 1")
      .get();
  } finally {
    db.close();
  }
})();
if (!admin) throw new Error("no admin user in the data directory");
const actor = { user_id: admin.id, username: admin.username, role: "admin" as const };
const channelIds = ["a", "b"].map(
  (name) =>
    domain.alertConfig.channels.create(actor, {
      name: `hook ${name}`,
      kind: "webhook",
      config: { url: `http://127.0.0.1:9/${name}` },
    }).id,
);
domain.alertConfig.rules.create(actor, {
  name: "fleet",
  conditions: ["backup_failed", "backup_stale", "host_offline"],
  channel_ids: channelIds,
});

// Two untimed sweeps decides every host's conditions as of the clock; then the steady state.
domain.alerts.sweep();
domain.alerts.sweep();
const out: SweepProbe = {
  hosts: domain.hosts.list().length,
  sweepMs: [],
  listMs: [],
  onsetSweepMs: 0,
  fired: 0,
  batchMs: 0,
  messages: 0,
};
for (let r = 0; r < rounds; r++) {
  if (r % 2 === 0) {
    out.sweepMs.push(time(() => domain.alerts.sweep()));
    out.listMs.push(time(() => domain.hosts.list()));
  } else {
    out.listMs.push(time(() => domain.hosts.list()));
    out.sweepMs.push(time(() => domain.alerts.sweep()));
  }
}
const before = firing();
// The worst case on the server's 10 s grid: the onset falls just after a tick.
clock.advance(Date.parse(lastOnsetIso) - clock.now().getTime() + 10_000);
out.onsetSweepMs = time(() => domain.alerts.sweep());
out.fired = firing() - before;
clock.advance(DEFAULT_SETTINGS.alertBatchSeconds * 1000);
let made = 0;
out.batchMs = time(() => {
  made = domain.alertDelivery.batch();
});
out.messages = made;
store.close();
console.log(JSON.stringify(out));
