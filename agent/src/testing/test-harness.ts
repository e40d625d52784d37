import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Supervisor } from "../restic/supervisor.ts";
import type { RepoConfig, SupervisorOptions } from "../restic/types.ts";
import { FakeClock } from "./fake-clock.ts";
import { FakeSpawn, type Handler, Recorder } from "./fake-spawn.ts";
import { OPEN_POLICY } from "./open-policy.ts";

/** A Supervisor wired to fakes, for the unit tests. */
export interface Harness {
  sup: Supervisor;
  spawn: FakeSpawn;
  rec: Recorder;
  clock: FakeClock;
  tempDir: string;
  repo: { value: RepoConfig | null };
  cleanup(): void;
}

export const PASSWORD = "s3cr3t-pa55";

export function harness(handler?: Handler, opts: Partial<SupervisorOptions> = {}): Harness {
  const tempDir = mkdtempSync(join(tmpdir(), "rf-sup-test-"));
  const spawn = new FakeSpawn(handler);
  const rec = new Recorder();
  const clock = new FakeClock();
  const repo: { value: RepoConfig | null } = { value: { repo_url: "/srv/repo", repo_password: PASSWORD } };
  const sup = new Supervisor({
    resticPath: "restic",
    spawn: spawn.spawn,
    clock,
    emit: rec.emit,
    policy: OPEN_POLICY,
    tempDir,
    getRepo: () => repo.value,
    resticHost: "test-host",
    ...opts,
  });
  return { sup, spawn, rec, clock, tempDir, repo, cleanup: () => rmSync(tempDir, { recursive: true, force: true }) };
}

/** Builds a handler from subcommand → script; `restic version` answers 0.14 unless given. */
export function bySubcommand(scripts: Record<string, ReturnType<Handler>>): Handler {
  return (argv) => {
    const key = argv[1] ?? "";
    const script = scripts[key];
    if (script !== undefined) return script;
    if (key === "version") return { stdout: ["restic 0.14.0 compiled with go1.19.8 on linux/amd64"] };
    return {};
  };
}

export const ID_A = "7fb516131dae280fd3988a5758e80cafc732ec8501a2cd1b0ce1c813b03942cb";
export const ID_B = "85c473bf0000000000000000000000000000000000000000000000000000beef";

export const SNAPSHOTS_JSON = JSON.stringify([
  {
    time: "2026-11-30T12:37:31.836575308Z",
    tree: "84ad",
    paths: ["/data"],
    hostname: "vm",
    username: "root",
    id: ID_A,
    short_id: ID_A.slice(0, 8),
  },
  {
    time: "2026-11-30T12:40:00Z",
    tree: "99ad",
    paths: ["/data"],
    hostname: "vm",
    tags: ["daily"],
    id: ID_B,
    short_id: ID_B.slice(0, 8),
  },
]);

export const BACKUP_SUMMARY = JSON.stringify({
  message_type: "summary",
  files_new: 3,
  files_changed: 0,
  total_files_processed: 3,
  total_bytes_processed: 7000,
  total_duration: 0.2,
  snapshot_id: ID_B.slice(0, 8),
});

export const STATS_RAW = JSON.stringify({
  total_size: 1000,
  total_file_count: 0,
  total_blob_count: 8,
  snapshots_count: 2,
});
export const STATS_RESTORE = JSON.stringify({ total_size: 3000, total_file_count: 7, snapshots_count: 2 });

/** A happy repository: backups, snapshots, stats and list locks all answer. */
export function happyHandler(extra: Record<string, ReturnType<Handler>> = {}): Handler {
  return (argv, env) => {
    if (argv[1] === "stats") return { stdout: [argv.includes("--mode=raw-data") ? STATS_RAW : STATS_RESTORE] };
    return bySubcommand({
      backup: { stdout: [BACKUP_SUMMARY] },
      snapshots: { stdout: [SNAPSHOTS_JSON] },
      list: { stdout: [] },
      ...extra,
    })(argv, env);
  };
}

export function status(fraction: number, elapsed = 1): string {
  return JSON.stringify({
    message_type: "status",
    percent_done: fraction,
    total_files: 10,
    files_done: Math.round(10 * fraction),
    total_bytes: 1000,
    bytes_done: Math.round(1000 * fraction),
    seconds_elapsed: elapsed,
  });
}
