// The alert sweep's copy-job read (store.lastCopyJobs): every host's at 10,000 hosts x 2 targets x 15
// copies (300,000 copy jobs), and one host's. `bun bench/copy-jobs-read.ts`
import { openDatabase } from "../server/src/store/db.ts";
import { createStore } from "../server/src/store/store.ts";

const db = openDatabase(":memory:");
const store = createStore(db);
const H = 10_000,
  T = 2,
  N = 15;
const ins = db.query(
  "INSERT INTO hosts (id, name, hostname, restic_host, agent_token_hash, enrolled_at) VALUES (?, ?, ?, ?, ?, ?)",
);
const job = db.query(
  "INSERT INTO jobs (id, host_id, kind, status, actor_kind, spec, stats, created_at, finished_at) VALUES (?, ?, 'copy', ?, 'system', ?, ?, ?, ?)",
);
db.transaction(() => {
  for (let h = 0; h < H; h++) {
    ins.run(`h${h}`, `host-${h}`, `host-${h}`, `host-${h}`, `hash${h}`, "2026-01-01T00:00:00.000Z");
    for (let t = 0; t < T; t++)
      for (let n = 0; n < N; n++) {
        const at = new Date(Date.UTC(2026, 10, 1 + n, 3)).toISOString();
        job.run(
          `job_${h}_${t}_${n}`,
          `h${h}`,
          n % 7 === 6 ? "failed" : "succeeded",
          JSON.stringify({ target_id: `repo_${t}` }),
          JSON.stringify({ copy: { snapshot_count: n, latest_snapshot_time: at } }),
          at,
          at,
        );
      }
  }
})();
console.log("copy jobs", H * T * N);
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const rows = store.lastCopyJobs();
  console.log("all hosts", rows.length, "rows", (performance.now() - t0).toFixed(0), "ms");
}
const t1 = performance.now();
for (let i = 0; i < 100; i++) store.lastCopyJobs(`h${i}`);
console.log("one host", ((performance.now() - t1) / 100).toFixed(2), "ms");
