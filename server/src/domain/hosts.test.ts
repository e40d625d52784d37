import { expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { silentLogger } from "../log.ts";
import { openDatabase } from "../store/db.ts";
import { createStore } from "../store/store.ts";
import { blankSchedule, queuedJob } from "./blank-rows.ts";
import type { AgentLink } from "./deps.ts";
import { createDomain } from "./domain.ts";
import { EventBus } from "./events.ts";
import { createSecretBox } from "./secrets.ts";
import type { Job, Schedule } from "./types.ts";

const admin = { user_id: "u1", username: "admin", role: "admin" as const };

function setup() {
  const store = createStore(openDatabase(":memory:"));
  const clock = new ManualClock("2026-11-30T12:00:00Z");
  const connected = new Set<string>();
  const agents: AgentLink = {
    send: () => false,
    isConnected: (id) => connected.has(id),
    isSecure: () => true,
    close() {},
  };
  const { hosts } = createDomain({
    store,
    clock,
    agents,
    events: new EventBus(),
    secrets: createSecretBox(new Uint8Array(32)),
    log: silentLogger,
  });
  return { store, hosts, connected };
}

const job = (id: string, host_id: string, kind: Job["kind"], created_at: string) =>
  queuedJob({ id, host_id, kind, actor_kind: "user", created_at });

const schedule = (id: string, host_id: string, kind: Schedule["kind"], cron_expr: string, enabled: boolean) =>
  blankSchedule({ id, host_id, kind, cron_expr, enabled, paths: ["/srv"], created_at: "2026-11-29T00:00:00Z" });

/** Hosts in every state the list shows; names out of id order, two with the same name. */
function fleet() {
  const t = setup();
  const { store, hosts } = t;
  const host = (id: string, name: string) =>
    store.insertHost({
      id,
      name,
      hostname: id,
      restic_host: id,
      agent_token_hash: `hash-${id}`,
      enrolled_at: "2026-11-29T00:00:00Z",
    });
  host("h1", "zulu"); // no jobs, no settings, no schedules
  host("h2", "alpha");
  host("h3", "mike");
  host("h4", "mike");
  host("h5", "bravo");
  host("h6", "echo");
  const finish = (id: string, status: "succeeded" | "failed", at: string, error: string | null = null) => {
    store.markRunning(id, at);
    store.finishJob(id, { status, exit_code: status === "succeeded" ? 0 : 1, finished_at: at, error });
  };

  // h2: a failed backup, then a queued one; settings with secrets and a password in the URL.
  store.insertJob(job("j21", "h2", "backup", "2026-11-30T01:00:00Z"));
  finish("j21", "failed", "2026-11-30T01:05:00Z", "Fatal: repository is locked");
  store.insertJob(job("j22", "h2", "backup", "2026-11-30T02:00:00Z"));
  hosts.setConfig(admin, "h2", {
    repo_url: "rest:https://u:secret@backup.example/h2",
    repo_password: "pw",
    repo_credential: "cred",
  });
  store.insertSchedule(schedule("s2", "h2", "backup", "0 * * * *", true));

  // h3: succeeded, with repo stats (the newest row counts), an enabled and a disabled schedule.
  store.insertJob(job("j31", "h3", "backup", "2026-11-30T03:00:00Z"));
  finish("j31", "succeeded", "2026-11-30T03:10:00Z");
  for (const size of [100, 300, 200]) {
    store.insertRepoStats({
      host_id: "h3",
      reported_at: "2026-11-30T03:11:00Z",
      size_bytes: size,
      snapshot_count: 1,
      dedup_ratio: 1.5,
      last_check_at: null,
      last_check_status: null,
      lock_state: "unlocked",
    });
  }
  store.insertSchedule(schedule("s3a", "h3", "backup", "0 3 * * *", true));
  store.insertSchedule(schedule("s3b", "h3", "backup", "*/5 * * * *", false));
  hosts.setConfig(admin, "h3", { repo_url: "/srv/restic/h3", hook_shell: "/bin/sh" });

  // h4: a success, then a running backup; its only schedule is disabled; connected.
  store.insertJob(job("j41", "h4", "backup", "2026-11-30T04:00:00Z"));
  finish("j41", "succeeded", "2026-11-30T04:02:00Z");
  store.insertJob(job("j42", "h4", "backup", "2026-11-30T05:00:00Z"));
  store.markRunning("j42", "2026-11-30T05:00:01Z");
  store.insertSchedule(schedule("s4", "h4", "backup", "0 4 * * *", false));
  t.connected.add("h4");

  // h5: a failure after a success, then a newer forget and check: the backup still counts.
  store.insertJob(job("j51", "h5", "backup", "2026-11-28T01:00:00Z"));
  finish("j51", "succeeded", "2026-11-28T01:03:00Z");
  store.insertJob(job("j52", "h5", "backup", "2026-11-30T01:00:00Z"));
  finish("j52", "failed", "2026-11-30T01:01:00Z", "exit 1");
  store.insertJob(job("j53", "h5", "forget", "2026-11-30T06:00:00Z"));
  finish("j53", "succeeded", "2026-11-30T06:01:00Z");
  store.insertJob(job("j54", "h5", "check", "2026-11-30T07:00:00Z"));
  store.insertSchedule(schedule("s5a", "h5", "forget", "*/5 * * * *", true));
  store.insertSchedule(schedule("s5b", "h5", "backup", "0 */6 * * *", true));

  // h6: an old success and no schedule: stale settings cleared to nothing.
  store.insertJob(job("j61", "h6", "backup", "2026-11-01T00:00:00Z"));
  finish("j61", "succeeded", "2026-11-01T00:30:00Z");
  hosts.setConfig(admin, "h6", { repo_url: "" });
  return t;
}

test("list() entries equal show(id) and view(h), in name, id order", () => {
  const { hosts, store } = fleet();
  const list = hosts.list();
  expect(list.map((h) => h.id)).toEqual(["h2", "h5", "h6", "h3", "h4", "h1"]);
  for (const entry of list) {
    expect(entry).toEqual(hosts.show(entry.id));
    const h = store.hostById(entry.id);
    if (!h) throw new Error(`no host ${entry.id}`);
    expect(entry).toEqual(hosts.view(h));
    // The same bytes on the wire, keys in the same order.
    expect(JSON.stringify(entry)).toBe(JSON.stringify(hosts.show(entry.id)));
  }
});

test("each state shows from the stored facts; the last backup is the last finished one (issue 15)", () => {
  const { hosts } = fleet();
  const by = new Map(hosts.list().map((h) => [h.id, h]));
  const pick = (id: string) => {
    const h = by.get(id);
    if (!h) throw new Error(`no host ${id}`);
    const { last_backup, last_successful_backup_at, expected_interval_s, backup_health, repo_size_bytes, config } = h;
    return { last_backup, last_successful_backup_at, expected_interval_s, backup_health, repo_size_bytes, config };
  };
  const noConfig = {
    repo_url: null,
    repo_username: null,
    hook_shell: null,
    has_repo_password: false,
    has_repo_credential: false,
  };
  expect(pick("h1")).toEqual({
    last_backup: null,
    last_successful_backup_at: null,
    expected_interval_s: null,
    backup_health: "unscheduled",
    repo_size_bytes: null,
    config: noConfig,
  });
  expect(pick("h2")).toEqual({
    // The backup queued after the failure hides it no more (it showed "stale", then "ok").
    last_backup: {
      job_id: "j21",
      status: "failed",
      finished_at: "2026-11-30T01:05:00Z",
      error: "Fatal: repository is locked",
    },
    last_successful_backup_at: null,
    expected_interval_s: 3600,
    backup_health: "failed",
    repo_size_bytes: null,
    config: {
      repo_url: "rest:https://***@backup.example/h2",
      repo_username: null,
      hook_shell: null,
      has_repo_password: true,
      has_repo_credential: true,
    },
  });
  expect(pick("h3")).toEqual({
    last_backup: { job_id: "j31", status: "succeeded", finished_at: "2026-11-30T03:10:00Z", error: null },
    last_successful_backup_at: "2026-11-30T03:10:00Z",
    expected_interval_s: 86_400,
    backup_health: "ok",
    repo_size_bytes: 200,
    config: { ...noConfig, repo_url: "/srv/restic/h3", hook_shell: "/bin/sh" },
  });
  expect(pick("h4")).toMatchObject({
    last_backup: { job_id: "j41", status: "succeeded" },
    last_successful_backup_at: "2026-11-30T04:02:00Z",
    expected_interval_s: null,
    backup_health: "ok",
  });
  expect(by.get("h4")?.connected).toBe(true);
  expect(by.get("h3")?.connected).toBe(false);
  expect(pick("h5")).toMatchObject({
    last_backup: { job_id: "j52", status: "failed", error: "exit 1" },
    last_successful_backup_at: "2026-11-28T01:03:00Z",
    expected_interval_s: 6 * 3600,
    backup_health: "failed",
  });
  expect(pick("h6")).toMatchObject({ backup_health: "ok", config: noConfig });
});

test("the list follows later changes: a finish, a rename, a revoke", () => {
  const { hosts, store } = fleet();
  store.finishJob("j22", { status: "succeeded", exit_code: 0, finished_at: "2026-11-30T02:30:00Z", error: null });
  hosts.update(admin, "h1", { name: "aaa" });
  hosts.revoke(admin, "h5");
  const list = hosts.list();
  expect(list.map((h) => h.id)).toEqual(["h1", "h2", "h6", "h3", "h4"]);
  expect(list[1]?.last_backup).toEqual({
    job_id: "j22",
    status: "succeeded",
    finished_at: "2026-11-30T02:30:00Z",
    error: null,
  });
  expect(list[1]?.last_successful_backup_at).toBe("2026-11-30T02:30:00Z");
  for (const entry of list) expect(entry).toEqual(hosts.show(entry.id));
});

test("labels: update replaces the map, list filters by a selector, a viewer may not change them", () => {
  const { hosts, store } = fleet();
  expect(hosts.update(admin, "h2", { labels: { role: "db", env: "prod" } }).labels).toEqual({
    env: "prod",
    role: "db",
  });
  hosts.update(admin, "h3", { labels: { env: "prod" } });
  const ids = (sel: Parameters<typeof hosts.list>[0]) => hosts.list(sel).map((h) => h.id);
  expect(ids({ labels: { env: "prod" } })).toEqual(["h2", "h3"]);
  expect(ids({ labels: { env: "prod", role: "db" } })).toEqual(["h2"]);
  expect(ids({ labels: {} })).toHaveLength(store.listHosts().length);
  expect(ids({})).toEqual(ids(undefined));
  // The whole map is replaced, and the list follows.
  hosts.update(admin, "h2", { labels: { env: "staging" } });
  expect(ids({ labels: { role: "db" } })).toEqual([]);
  const viewer = { user_id: "u2", username: "v", role: "viewer" as const };
  expect(() => hosts.update(viewer, "h3", { labels: {} })).toThrow("needs the admin role");
  expect(() => hosts.update(admin, "h3", { labels: { "No Caps": "x" } })).toThrow("labels.No Caps");
  expect(store.hostById("h3")?.labels).toEqual({ env: "prod" });
});
