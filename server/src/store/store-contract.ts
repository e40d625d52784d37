import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { JobKind, TerminalJobStatus } from "../../../protocol/index.ts";
import { blankSchedule, queuedJob } from "../domain/blank-rows.ts";
import type { HelloInfo, PolicyRow, PolicyScheduleRow, RepositoryRow, Store } from "../domain/store.ts";
import type {
  AuditEntry,
  Host,
  HostConfigRow,
  JobCommand,
  JobState,
  RepoStatsRow,
  Schedule,
  StoredSnapshot,
  User,
} from "../domain/types.ts";

/**
 * The behaviour the domain relies on from any Store (domain/store.ts), written against that
 * interface only: no SQL, no implementation module. Each implementation runs it unchanged, e.g.
 * `storeContract("SQLite", () => createStore(openDatabase(":memory:")))`. Every test gets a new,
 * empty store from `open`; `close` (default: `s.close()`) disposes of it.
 *
 * Times are canonical ISO strings (what the domain writes, Date.toISOString()), so text and
 * instant order agree. Where the interface promises no order, results are sorted before comparing.
 */
export function storeContract(
  name: string,
  open: () => Store | Promise<Store>,
  close?: (s: Store) => void | Promise<void>,
): void {
  describe(`${name} store contract`, () => {
    let s: Store;
    beforeEach(async () => {
      s = await open();
    });
    afterEach(async () => {
      await (close ? close(s) : s.close());
    });

    /** `sec` seconds after 2026-11-30T12:00:00.000Z. */
    const t = (sec: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, 0) + sec * 1000).toISOString();
    const sorted = <T>(xs: T[]) => [...xs].sort();

    const user = (id: string, over: Partial<User> = {}) => ({
      id,
      username: id,
      role: "admin" as const,
      created_at: t(0),
      disabled_at: null,
      password_hash: `hash-${id}`,
      ...over,
    });
    const addUser = (id: string, over: Partial<User> = {}) => {
      const u = user(id, over);
      s.insertUser(u);
      return u;
    };
    const session = (token_hash: string, user_id: string, expires_at = t(3600)) => ({
      token_hash,
      user_id,
      csrf_token: `csrf-${token_hash}`,
      created_at: t(0),
      expires_at,
    });
    const apiToken = (id: string, user_id: string, created_at = t(0)) => ({
      id,
      user_id,
      name: `token ${id}`,
      token_hash: `th-${id}`,
      created_at,
      last_used_at: null,
      revoked_at: null,
    });
    const addHostRow = (id: string, over: { name?: string; hostname?: string; restic_host?: string } = {}) => ({
      id,
      name: id,
      hostname: `${id}.lan`,
      restic_host: `${id}.lan`,
      agent_token_hash: `agent-${id}`,
      enrolled_at: t(0),
      ...over,
    });
    const addHost = (id: string, over: { name?: string; hostname?: string; restic_host?: string } = {}) => {
      const h = addHostRow(id, over);
      s.insertHost(h);
      return h;
    };
    const hello = (over: Partial<HelloInfo> = {}): HelloInfo => ({
      hostname: "box",
      restic_host: "box",
      timezone: null,
      policy: null,
      os: "linux",
      arch: "amd64",
      agent_version: "1.2.3",
      restic_version: "0.17.3",
      protocol_version: 2,
      boot_time: t(-3600),
      at: t(10),
      ...over,
    });
    const schedule = (id: string, host_id: string, over: Partial<Schedule> = {}) =>
      blankSchedule({ id, host_id, kind: "backup", cron_expr: "0 2 * * *", created_at: t(0), ...over });
    const addSchedule = (id: string, host_id: string, over: Partial<Schedule> = {}) => {
      const sc = schedule(id, host_id, over);
      s.insertSchedule(sc);
      return sc;
    };
    // A backup unless `over` names another kind (then with that kind's spec, or none).
    type JobOver = Partial<JobState> & (Partial<JobCommand<"backup">> | JobCommand | { kind: JobKind; spec?: null });
    const job = (id: string, host_id: string, over: JobOver = {}) =>
      queuedJob({ id, host_id, kind: "backup", actor_kind: "user", actor_id: "usr_1", created_at: t(0), ...over });
    const addJob = (id: string, host_id: string, over: JobOver = {}) => {
      const j = job(id, host_id, over);
      s.insertJob(j);
      return j;
    };
    const finish = (id: string, status: TerminalJobStatus, finished_at: string, error: string | null = null) =>
      s.finishJob(id, { status, exit_code: status === "succeeded" ? 0 : 1, finished_at, error });
    const config = (host_id: string, over: Partial<HostConfigRow> = {}): HostConfigRow => ({
      host_id,
      repo_url: "s3:https://s3.example/bucket",
      repo_password_enc: "enc:pw",
      repo_username: "key-id",
      repo_credential_enc: "enc:secret",
      hook_shell: "/bin/sh",
      updated_at: t(0),
      ...over,
    });
    const snapshot = (id: string, time: string): Omit<StoredSnapshot, "host_id"> => ({
      id: id.repeat(64),
      short_id: id.repeat(8),
      time,
      hostname: "box",
      paths: ["/srv", "/etc"],
      tags: ["daily"],
      size_bytes: 1024,
      file_count: 12,
    });
    const repoStats = (host_id: string, size_bytes: number, reported_at: string): RepoStatsRow => ({
      host_id,
      reported_at,
      size_bytes,
      snapshot_count: 3,
      dedup_ratio: 1.5,
      last_check_at: t(-60),
      last_check_status: "ok",
      lock_state: "unlocked",
    });
    const auditEntry = (action: string, at: string): Omit<AuditEntry, "seq"> => ({
      at,
      actor_id: "usr_1",
      actor_name: "alice",
      action,
      target: "h1",
      detail: { fields: ["repo_url"], n: 1 },
    });
    const logLine = (job_id: string, seq: number, payload = `line ${seq}`) => ({
      job_id,
      seq,
      ts: t(seq),
      stream: "stdout",
      payload,
    });
    /** Lines with the cost they count for: 10 each unless given. */
    const costed = (lines: ReturnType<typeof logLine>[], cost = 10) => lines.map((l) => ({ ...l, cost }));
    // The lazy reads, read whole.
    const logsOf = (job_id: string, after_seq: number, limit: number) => [...s.logsAfter(job_id, after_seq, limit)];
    const jobsOf = (f: Parameters<Store["listJobs"]>[0]) => [...s.listJobs(f)];

    describe("users", () => {
      test("userByName returns the user with its password hash, userById without it", () => {
        const u = addUser("usr_1", { username: "alice", role: "viewer" });
        expect(s.userByName("alice")).toEqual(u);
        const { password_hash: _, ...plain } = u;
        expect(s.userById("usr_1")).toEqual(plain);
      });

      test("userByName and userById return null for an unknown user", () => {
        addUser("usr_1");
        expect(s.userByName("nobody")).toBeNull();
        expect(s.userById("usr_x")).toBeNull();
      });

      test("countUsers counts every user, disabled ones included", () => {
        expect(s.countUsers()).toBe(0);
        addUser("usr_1");
        addUser("usr_2", { disabled_at: t(1) });
        expect(s.countUsers()).toBe(2);
      });

      test("listUsers lists every user ordered by username", () => {
        addUser("usr_1", { username: "carol" });
        addUser("usr_2", { username: "alice" });
        addUser("usr_3", { username: "bob" });
        expect(s.listUsers().map((u) => u.username)).toEqual(["alice", "bob", "carol"]);
      });

      test("setPassword replaces the hash and ends the user's sessions", () => {
        addUser("usr_1");
        addUser("usr_2");
        s.insertSession(session("sess_1", "usr_1"));
        s.insertSession(session("sess_2", "usr_2"));
        s.setPassword("usr_1", "new-hash");
        expect(s.userByName("usr_1")?.password_hash).toBe("new-hash");
        expect(s.sessionByHash("sess_1")).toBeNull();
        expect(s.sessionByHash("sess_2")).not.toBeNull();
      });

      test("setRole changes the role", () => {
        addUser("usr_1", { role: "admin" });
        s.setRole("usr_1", "viewer");
        expect(s.userById("usr_1")?.role).toBe("viewer");
      });

      test("setDisabled ends the user's sessions and stops their API tokens until re-enabled", () => {
        addUser("usr_1");
        s.insertSession(session("sess_1", "usr_1"));
        s.insertApiToken(apiToken("tok_1", "usr_1"));
        s.setDisabled("usr_1", t(5));
        expect(s.userById("usr_1")?.disabled_at).toBe(t(5));
        expect(s.sessionByHash("sess_1")).toBeNull();
        expect(s.userByApiToken("th-tok_1")).toBeNull();
        s.setDisabled("usr_1", null);
        expect(s.userById("usr_1")?.disabled_at).toBeNull();
        expect(s.userByApiToken("th-tok_1")?.token_id).toBe("tok_1");
        // A session ended by disabling does not come back.
        expect(s.sessionByHash("sess_1")).toBeNull();
      });

      test("countActiveAdmins counts admins that are not disabled", () => {
        addUser("usr_1", { role: "admin" });
        addUser("usr_2", { role: "admin" });
        addUser("usr_3", { role: "viewer" });
        expect(s.countActiveAdmins()).toBe(2);
        s.setDisabled("usr_2", t(1));
        expect(s.countActiveAdmins()).toBe(1);
        s.setRole("usr_1", "viewer");
        expect(s.countActiveAdmins()).toBe(0);
      });
    });

    describe("sessions", () => {
      test("sessionByHash returns the user, csrf token and expiry; null for an unknown hash", () => {
        const { password_hash: _, ...u } = addUser("usr_1", { username: "alice" });
        s.insertSession(session("sess_1", "usr_1", t(3600)));
        expect(s.sessionByHash("sess_1")).toEqual({ user: u, csrf_token: "csrf-sess_1", expires_at: t(3600) });
        expect(s.sessionByHash("sess_x")).toBeNull();
      });

      test("deleteSession removes only that session", () => {
        addUser("usr_1");
        s.insertSession(session("sess_1", "usr_1"));
        s.insertSession(session("sess_2", "usr_1"));
        s.deleteSession("sess_1");
        expect(s.sessionByHash("sess_1")).toBeNull();
        expect(s.sessionByHash("sess_2")).not.toBeNull();
      });

      test("deleteExpiredSessions removes the sessions expiring at or before now", () => {
        addUser("usr_1");
        s.insertSession(session("sess_past", "usr_1", t(-1)));
        s.insertSession(session("sess_now", "usr_1", t(0)));
        s.insertSession(session("sess_later", "usr_1", t(1)));
        s.deleteExpiredSessions(t(0));
        expect(s.sessionByHash("sess_past")).toBeNull();
        expect(s.sessionByHash("sess_now")).toBeNull();
        expect(s.sessionByHash("sess_later")).not.toBeNull();
      });
    });

    describe("API tokens", () => {
      test("userByApiToken finds the owner and the token id by hash; null for an unknown hash", () => {
        const { password_hash: _, ...u } = addUser("usr_1");
        s.insertApiToken(apiToken("tok_1", "usr_1"));
        expect(s.userByApiToken("th-tok_1")).toEqual({ ...u, token_id: "tok_1" });
        expect(s.userByApiToken("th-unknown")).toBeNull();
      });

      test("apiTokenById returns the token without its hash; null for an unknown id", () => {
        addUser("usr_1");
        const { token_hash: _, ...tok } = apiToken("tok_1", "usr_1");
        s.insertApiToken({ ...tok, token_hash: "th-tok_1" });
        expect(s.apiTokenById("tok_1")).toEqual(tok);
        expect(s.apiTokenById("tok_x")).toBeNull();
      });

      test("listApiTokens lists one owner's tokens, or everyone's for null, oldest first", () => {
        addUser("usr_1");
        addUser("usr_2");
        s.insertApiToken(apiToken("tok_b", "usr_1", t(2)));
        s.insertApiToken(apiToken("tok_a", "usr_1", t(1)));
        s.insertApiToken(apiToken("tok_c", "usr_2", t(3)));
        expect(s.listApiTokens("usr_1").map((x) => x.id)).toEqual(["tok_a", "tok_b"]);
        expect(s.listApiTokens(null).map((x) => x.id)).toEqual(["tok_a", "tok_b", "tok_c"]);
        expect(s.listApiTokens("usr_x")).toEqual([]);
        expect(s.listApiTokens("usr_1")[0]).not.toHaveProperty("token_hash");
      });

      test("revokeApiToken stamps the token, stops its lookup, and returns false the second time", () => {
        addUser("usr_1");
        s.insertApiToken(apiToken("tok_1", "usr_1"));
        expect(s.revokeApiToken("tok_1", t(5))).toBe(true);
        expect(s.userByApiToken("th-tok_1")).toBeNull();
        expect(s.apiTokenById("tok_1")?.revoked_at).toBe(t(5));
        expect(s.revokeApiToken("tok_1", t(6))).toBe(false);
        expect(s.apiTokenById("tok_1")?.revoked_at).toBe(t(5));
        expect(s.revokeApiToken("tok_x", t(6))).toBe(false);
      });

      test("touchApiToken records the last use at most once a minute", () => {
        addUser("usr_1");
        s.insertApiToken(apiToken("tok_1", "usr_1"));
        s.touchApiToken("tok_1", t(100));
        expect(s.apiTokenById("tok_1")?.last_used_at).toBe(t(100));
        s.touchApiToken("tok_1", t(130));
        expect(s.apiTokenById("tok_1")?.last_used_at).toBe(t(100));
        s.touchApiToken("tok_1", t(190));
        expect(s.apiTokenById("tok_1")?.last_used_at).toBe(t(190));
      });
    });

    describe("enrollment tokens", () => {
      const enrollment = (id: string, uses_left: number, created_at = t(0)) => ({
        id,
        token_hash: `eh-${id}`,
        labels: {},
        uses: 2,
        uses_left,
        expires_at: t(86_400),
        created_by: "usr_1",
        created_at,
        revoked_at: null,
      });

      test("enrollmentTokenByHash returns the token without its hash; null for an unknown hash", () => {
        addUser("usr_1");
        const { token_hash: _, ...tok } = enrollment("enr_1", 2);
        s.insertEnrollmentToken({ ...tok, token_hash: "eh-enr_1" });
        expect(s.enrollmentTokenByHash("eh-enr_1")).toEqual(tok);
        expect(s.enrollmentTokenByHash("eh-x")).toBeNull();
      });

      test("useEnrollmentToken takes one use per call and returns false once none is left", () => {
        addUser("usr_1");
        s.insertEnrollmentToken(enrollment("enr_1", 2));
        expect(s.useEnrollmentToken("enr_1")).toBe(true);
        expect(s.enrollmentTokenByHash("eh-enr_1")?.uses_left).toBe(1);
        expect(s.useEnrollmentToken("enr_1")).toBe(true);
        expect(s.useEnrollmentToken("enr_1")).toBe(false);
        expect(s.enrollmentTokenByHash("eh-enr_1")?.uses_left).toBe(0);
        expect(s.useEnrollmentToken("enr_x")).toBe(false);
      });

      test("a token keeps the number of uses it was made with, as its uses are taken", () => {
        addUser("usr_1");
        s.insertEnrollmentToken({ ...enrollment("enr_1", 3), uses: 3 });
        s.insertEnrollmentToken({ ...enrollment("enr_old", 1), uses: null });
        s.useEnrollmentToken("enr_1");
        expect(s.enrollmentTokenById("enr_1")).toMatchObject({ uses: 3, uses_left: 2 });
        expect(s.enrollmentTokenById("enr_old")).toMatchObject({ uses: null, uses_left: 1 });
        expect(s.listEnrollmentTokens(10, null).map((x) => [x.id, x.uses])).toEqual([
          ["enr_old", null],
          ["enr_1", 3],
        ]);
      });

      test("a token keeps its labels; enrollmentTokenById finds it without its hash, null for an unknown id", () => {
        addUser("usr_1");
        const { token_hash: _, ...tok } = { ...enrollment("enr_1", 2), labels: { env: "prod", role: "db" } };
        s.insertEnrollmentToken({ ...tok, token_hash: "eh-enr_1" });
        expect(s.enrollmentTokenById("enr_1")).toEqual(tok);
        expect(s.enrollmentTokenByHash("eh-enr_1")?.labels).toEqual({ env: "prod", role: "db" });
        expect(s.enrollmentTokenById("enr_x")).toBeNull();
      });

      test("listEnrollmentTokens: newest first (then id), paged after a position, never the hash", () => {
        addUser("usr_1");
        s.insertEnrollmentToken(enrollment("enr_a", 1, t(10)));
        s.insertEnrollmentToken(enrollment("enr_c", 1, t(20)));
        s.insertEnrollmentToken(enrollment("enr_b", 1, t(20)));
        s.insertEnrollmentToken(enrollment("enr_d", 1, t(30)));
        const all = s.listEnrollmentTokens(10, null);
        expect(all.map((x) => x.id)).toEqual(["enr_d", "enr_c", "enr_b", "enr_a"]);
        expect(all.some((x) => "token_hash" in x)).toBe(false);
        expect(s.listEnrollmentTokens(2, null).map((x) => x.id)).toEqual(["enr_d", "enr_c"]);
        expect(s.listEnrollmentTokens(2, { created_at: t(20), id: "enr_c" }).map((x) => x.id)).toEqual([
          "enr_b",
          "enr_a",
        ]);
        expect(s.listEnrollmentTokens(10, { created_at: t(10), id: "enr_a" })).toEqual([]);
      });

      test("revokeEnrollmentToken stamps revoked_at once; false for a revoked or unknown token", () => {
        addUser("usr_1");
        s.insertEnrollmentToken(enrollment("enr_1", 2));
        expect(s.revokeEnrollmentToken("enr_1", t(5))).toBe(true);
        expect(s.revokeEnrollmentToken("enr_1", t(9))).toBe(false);
        expect(s.enrollmentTokenById("enr_1")?.revoked_at).toBe(t(5));
        expect(s.enrollmentTokenByHash("eh-enr_1")?.revoked_at).toBe(t(5));
        expect(s.revokeEnrollmentToken("enr_x", t(5))).toBe(false);
      });
    });

    describe("hosts", () => {
      test("insertHost stores the restic host name; a new host is offline, never seen, at schedule version 0", () => {
        addHost("h1", { name: "Web A", hostname: "web-a", restic_host: "web-a.restic" });
        expect(s.hostById("h1")).toEqual({
          id: "h1",
          name: "Web A",
          hostname: "web-a",
          restic_host: "web-a.restic",
          timezone: null,
          policy: null,
          labels: {},
          os: null,
          arch: null,
          agent_version: null,
          restic_version: null,
          protocol_version: null,
          boot_time: null,
          online: false,
          last_seen_at: null,
          enrolled_at: t(0),
          schedule_version: 0,
          acked_schedule_version: 0,
          policy_repository_id: null,
          repository_policy_id: null,
          policy_conflict: null,
          max_offline_age: null,
        });
      });

      test("recordHello stores the host's policy as reported, and a hello without one clears it", () => {
        addHost("h1");
        const policy = {
          remote_hooks: false,
          restore_targets: ["/var/lib/restic-fleet-agent/restore"],
          backup_paths: null,
          repositories: "first" as const,
          source: "/etc/restic-fleet-agent/policy.json",
        };
        s.recordHello("h1", hello({ at: t(10), policy }));
        expect(s.hostById("h1")?.policy).toEqual(policy);
        expect(s.listHosts()[0]?.policy).toEqual(policy);
        s.recordHello("h1", hello({ at: t(20) }));
        expect(s.hostById("h1")?.policy).toBeNull();
      });

      test("insertHost stores the labels given; setHostLabels replaces the whole map; every read has them", () => {
        s.insertHost({ ...addHostRow("h1"), labels: { env: "prod", role: "db" } });
        addHost("h2");
        expect(s.hostById("h1")?.labels).toEqual({ env: "prod", role: "db" });
        expect(s.hostById("h2")?.labels).toEqual({});
        expect(s.setHostLabels("h1", { env: "staging", site: "fra-1" })).toBe(true);
        expect(s.hostById("h1")?.labels).toEqual({ env: "staging", site: "fra-1" });
        expect(s.listHosts().find((h) => h.id === "h1")?.labels).toEqual({ env: "staging", site: "fra-1" });
        expect(s.hostSummary("h1")?.host.labels).toEqual({ env: "staging", site: "fra-1" });
        const relabelled = { env: "staging", site: "fra-1" };
        expect(s.hostSummaries().find((r) => r.host.id === "h1")?.host.labels).toEqual(relabelled);
        expect(s.setHostLabels("h1", {})).toBe(true);
        expect(s.hostById("h1")?.labels).toEqual({});
        expect(s.setHostLabels("hx", { env: "prod" })).toBe(false);
        // A hello never touches labels: agents cannot set their own.
        s.setHostLabels("h2", { env: "prod" });
        s.recordHello("h2", hello());
        expect(s.hostById("h2")?.labels).toEqual({ env: "prod" });
      });

      test("hostById is null for an unknown id; hostIdByTokenHash finds a host by its agent token hash", () => {
        addHost("h1");
        expect(s.hostById("hx")).toBeNull();
        expect(s.hostIdByTokenHash("agent-h1")).toBe("h1");
        expect(s.hostIdByTokenHash("agent-hx")).toBeNull();
      });

      test("listHosts orders by name, then id", () => {
        addHost("h3", { name: "b" });
        addHost("h2", { name: "a" });
        addHost("h1", { name: "b" });
        expect(s.listHosts().map((h) => h.id)).toEqual(["h2", "h1", "h3"]);
      });

      test("recordHello updates hostname, restic_host and versions, and marks the host online", () => {
        addHost("h1", { name: "Web A" });
        s.recordHello("h1", hello({ at: t(10) }));
        expect(s.hostById("h1")).toMatchObject({
          name: "Web A",
          hostname: "box",
          restic_host: "box",
          os: "linux",
          arch: "amd64",
          agent_version: "1.2.3",
          restic_version: "0.17.3",
          protocol_version: 2,
          boot_time: t(-3600),
          online: true,
          last_seen_at: t(10),
        });
      });

      test("touchHost records a sign of life and marks the host online", () => {
        addHost("h1");
        s.touchHost("h1", t(20));
        expect(s.hostById("h1")).toMatchObject({ online: true, last_seen_at: t(20) });
      });

      test("setOffline marks one host offline and keeps its last sign of life", () => {
        addHost("h1");
        addHost("h2");
        s.recordHello("h1", hello({ at: t(10) }));
        s.recordHello("h2", hello({ at: t(10) }));
        s.setOffline("h1");
        expect(s.hostById("h1")).toMatchObject({ online: false, last_seen_at: t(10) });
        expect(s.hostById("h2")?.online).toBe(true);
      });

      test("staleOnlineHosts lists the online hosts last seen before the cutoff", () => {
        for (const id of ["h1", "h2", "h3", "h4"]) addHost(id);
        s.touchHost("h1", t(10));
        s.touchHost("h2", t(50));
        s.touchHost("h3", t(99));
        s.touchHost("h4", t(10));
        s.setOffline("h4");
        expect(sorted(s.staleOnlineHosts(t(60)))).toEqual(["h1", "h2"]);
      });

      test("markAllOffline marks every host offline", () => {
        addHost("h1");
        addHost("h2");
        s.touchHost("h1", t(1));
        s.touchHost("h2", t(1));
        s.markAllOffline();
        expect(s.listHosts().map((h) => h.online)).toEqual([false, false]);
        expect(s.staleOnlineHosts(t(1000))).toEqual([]);
      });

      test("renameHost changes the name only: hostname and restic_host stay", () => {
        addHost("h1", { name: "old", hostname: "box", restic_host: "box" });
        s.renameHost("h1", "new");
        expect(s.hostById("h1")).toMatchObject({ name: "new", hostname: "box", restic_host: "box" });
      });

      test("deleteHost removes the host with its settings, schedules, jobs, logs, snapshots and repo stats", () => {
        addHost("h1");
        addHost("h2");
        s.upsertConfig(config("h1"));
        for (const h of ["h1", "h2"]) {
          addSchedule(`s-${h}`, h);
          addJob(`j-${h}`, h, { scheduled_id: `s-${h}`, scheduled_at: t(60) });
          s.tx(() => {
            s.insertLogs(h, costed([logLine(`j-${h}`, 1)]));
            s.replaceSnapshots(h, [snapshot("a", t(1))]);
          });
          s.insertRepoStats(repoStats(h, 100, t(2)));
        }
        expect(s.deleteHost("h1")).toBe(true);
        expect(s.hostById("h1")).toBeNull();
        expect(s.hostIdByTokenHash("agent-h1")).toBeNull();
        expect(s.configFor("h1")).toBeNull();
        expect(s.scheduleById("s-h1")).toBeNull();
        expect(s.schedulesForHost("h1")).toEqual([]);
        expect(s.jobById("j-h1")).toBeNull();
        expect(jobsOf({ host_id: "h1", limit: 10 })).toEqual([]);
        expect(logsOf("j-h1", 0, 10)).toEqual([]);
        expect(s.logUsage("j-h1")).toBeNull();
        expect(s.snapshotsForHost("h1")).toEqual([]);
        expect(s.repoStatsForHost("h1", 10)).toEqual([]);
        expect(s.hostSummary("h1")).toBeNull();
        // The other host keeps everything.
        expect(s.scheduleById("s-h2")).not.toBeNull();
        expect(s.jobById("j-h2")).not.toBeNull();
        expect(logsOf("j-h2", 0, 10)).toHaveLength(1);
        expect(s.logUsage("j-h2")).toMatchObject({ job_bytes: 10, host_bytes: 10 });
        expect(s.snapshotsForHost("h2")).toHaveLength(1);
        expect(s.repoStatsForHost("h2", 10)).toHaveLength(1);
        expect(s.deleteHost("h1")).toBe(false);
        expect(s.check()).toBe("ok");
      });

      test("bumpScheduleVersion increments the version and returns the new one", () => {
        addHost("h1");
        addHost("h2");
        expect(s.bumpScheduleVersion("h1")).toBe(1);
        expect(s.bumpScheduleVersion("h1")).toBe(2);
        expect(s.bumpScheduleVersion("h1")).toBe(3);
        expect(s.hostById("h1")?.schedule_version).toBe(3);
        expect(s.hostById("h2")?.schedule_version).toBe(0);
      });

      test("ackScheduleVersion records an ack up to the current version, ignoring newer and older ones", () => {
        addHost("h1");
        for (let i = 0; i < 3; i++) s.bumpScheduleVersion("h1");
        expect(s.ackScheduleVersion("h1", 2)).toBe(true);
        expect(s.hostById("h1")?.acked_schedule_version).toBe(2);
        expect(s.ackScheduleVersion("h1", 4)).toBe(false); // newer than the current version 3
        expect(s.hostById("h1")?.acked_schedule_version).toBe(2);
        expect(s.ackScheduleVersion("h1", 1)).toBe(false); // older than the acked one
        expect(s.hostById("h1")?.acked_schedule_version).toBe(2);
        expect(s.ackScheduleVersion("h1", 3)).toBe(true);
        expect(s.hostById("h1")).toMatchObject({ schedule_version: 3, acked_schedule_version: 3 });
        expect(s.ackScheduleVersion("hx", 0)).toBe(false);
      });
    });

    describe("host config", () => {
      test("configFor is null until upsertConfig, which inserts and then replaces every field", () => {
        addHost("h1");
        expect(s.configFor("h1")).toBeNull();
        s.upsertConfig(config("h1"));
        expect(s.configFor("h1")).toEqual(config("h1"));
        const cleared = config("h1", {
          repo_url: "/srv/repo",
          repo_password_enc: "enc:pw2",
          repo_username: null,
          repo_credential_enc: null,
          hook_shell: null,
          updated_at: t(9),
        });
        s.upsertConfig(cleared);
        expect(s.configFor("h1")).toEqual(cleared);
      });
    });

    describe("host summaries", () => {
      const empty = {
        last_backup: null,
        last_backup_warning: null,
        last_successful_backup_at: null,
        last_check: null,
        last_drill: null,
        last_full_read_at: null,
        repo_size_bytes: null,
        config: {
          repo_url: null,
          repo_username: null,
          hook_shell: null,
          has_repo_password: false,
          has_repo_credential: false,
        },
      };

      test("a host without jobs, repo stats or settings has an empty summary; an unknown host has none", () => {
        addHost("h1");
        expect(s.hostSummary("h1")).toEqual({ host: s.hostById("h1") as Host, summary: empty });
        expect(s.hostSummary("hx")).toBeNull();
      });

      test("hostSummaries lists every host with its summary, ordered by name, then id", () => {
        addHost("h2", { name: "b" });
        addHost("h3", { name: "a" });
        addHost("h1", { name: "b" });
        const all = s.hostSummaries();
        expect(all.map((x) => x.host.id)).toEqual(["h3", "h1", "h2"]);
        expect(all[0]).toEqual({ host: s.hostById("h3") as Host, summary: empty });
      });

      test("last_backup is the last FINISHED backup (by finished_at, then id): queued, running and cancelled ones never hide it", () => {
        addHost("h1");
        addJob("j1", "h1", { created_at: t(1) });
        s.markRunning("j1", t(2));
        finish("j1", "succeeded", t(3));
        addJob("j3", "h1", { created_at: t(10) });
        addJob("j2", "h1", { created_at: t(10) });
        addJob("j4", "h1", { kind: "check", created_at: t(20) });
        const j1 = { job_id: "j1", status: "succeeded" as const, finished_at: t(3), error: null };
        expect(s.hostSummary("h1")?.summary.last_backup).toEqual(j1);
        s.markRunning("j3", t(11));
        expect(s.hostSummary("h1")?.summary.last_backup).toEqual(j1);
        finish("j3", "failed", t(12), "boom");
        const j3 = { job_id: "j3", status: "failed" as const, finished_at: t(12), error: "boom" };
        expect(s.hostSummary("h1")?.summary.last_backup).toEqual(j3);
        // Issue 15 (a): a failure followed by a backup queued behind another job stays the failure.
        addJob("j5", "h1", { created_at: t(13) });
        expect(s.hostSummary("h1")?.summary.last_backup).toEqual(j3);
        finish("j2", "cancelled", t(14));
        expect(s.hostSummary("h1")?.summary.last_backup).toEqual(j3);
        finish("j5", "succeeded", t(15));
        expect(s.hostSummary("h1")?.summary.last_backup?.job_id).toBe("j5");
        // Same finish: the larger id is the later one.
        addJob("j6", "h1", { created_at: t(16) });
        addJob("j7", "h1", { created_at: t(17) });
        finish("j7", "failed", t(18), "x");
        finish("j6", "succeeded", t(18));
        expect(s.hostSummary("h1")?.summary.last_backup?.job_id).toBe("j7");
      });

      test("last_backup_warning is the warning of the last finished backup when it succeeded", () => {
        addHost("h1");
        const warned = (
          id: string,
          at: number,
          f: { exit_code?: number; stats?: unknown; status?: TerminalJobStatus },
        ) => {
          addJob(id, "h1", { created_at: t(at) });
          s.finishJob(id, {
            status: f.status ?? "succeeded",
            exit_code: f.exit_code ?? 0,
            finished_at: t(at + 1),
            stats: f.stats,
            error: null,
          });
          return s.hostSummary("h1")?.summary.last_backup_warning;
        };
        expect(warned("w0", 1, { stats: { total_files_processed: 4 } })).toBeNull();
        expect(warned("w1", 3, { stats: { warning: "1 of 2 backup paths do not exist and were skipped: /m" } })).toBe(
          "1 of 2 backup paths do not exist and were skipped: /m",
        );
        expect(warned("w2", 5, { stats: { missing_paths: ["/m"], total_files_processed: 1 } })).toBe(
          "some backup paths do not exist and were skipped",
        );
        expect(warned("w3", 7, { exit_code: 3 })).toBe("some source files could not be read (restic exit code 3)");
        expect(warned("w4", 9, { stats: { total_files_processed: 0 } })).toBe("the backup saved 0 files");
        // A failure has no warning (its error says what went wrong), and a stats text that is
        // not JSON is no warning either, and does not fail the write.
        expect(warned("w5", 11, { status: "failed", exit_code: 3, stats: { warning: "x" } })).toBeNull();
        expect(warned("w6", 13, { stats: "not json" })).toBeNull();
        expect(warned("w7", 15, {})).toBeNull();
        // A queued backup does not clear the warning before it.
        expect(warned("w8", 17, { stats: { total_files_processed: 0 } })).toBe("the backup saved 0 files");
        addJob("w9", "h1", { created_at: t(30) });
        expect(s.hostSummary("h1")?.summary.last_backup_warning).toBe("the backup saved 0 files");
      });

      test("failSucceededJob turns a succeeded job failed (the repository was gone after it), and nothing else", () => {
        addHost("h1");
        addJob("j1", "h1", { created_at: t(1) });
        finish("j1", "succeeded", t(2));
        addJob("j0", "h1", { created_at: t(0) });
        finish("j0", "succeeded", t(1));
        expect(s.failSucceededJob("j1", { error: "gone", failure_reason: "repo_missing" })).toBe(true);
        expect(s.jobById("j1")).toMatchObject({ status: "failed", error: "gone", finished_at: t(2) });
        expect(s.jobById("j1")?.stats).toMatchObject({ failure_reason: "repo_missing" });
        expect(s.hostSummary("h1")?.summary.last_backup).toEqual({
          job_id: "j1",
          status: "failed",
          finished_at: t(2),
          error: "gone",
        });
        expect(s.hostSummary("h1")?.summary.last_successful_backup_at).toBe(t(1));
        expect(s.failSucceededJob("j1", { error: "again", failure_reason: "repo_missing" })).toBe(false);
        addJob("j2", "h1", { created_at: t(3) });
        expect(s.failSucceededJob("j2", { error: "x", failure_reason: "repo_missing" })).toBe(false);
        expect(s.jobById("j2")?.status).toBe("queued");
        expect(s.failSucceededJob("jx", { error: "x", failure_reason: "repo_missing" })).toBe(false);
      });

      test("last_successful_backup_at is the latest succeeded backup's finish, kept through later failures", () => {
        addHost("h1");
        addHost("h2");
        addJob("j1", "h1", { created_at: t(1) });
        finish("j1", "succeeded", t(5));
        addJob("j2", "h1", { created_at: t(10) });
        finish("j2", "failed", t(15), "x");
        addJob("j3", "h1", { kind: "check", created_at: t(20) });
        finish("j3", "succeeded", t(25));
        expect(s.hostSummary("h1")?.summary.last_successful_backup_at).toBe(t(5));
        expect(s.hostSummary("h2")?.summary.last_successful_backup_at).toBeNull();
        expect(s.lastSuccessfulBackups()).toEqual([{ host_id: "h1", finished_at: t(5) }]);
      });

      test("repo_size_bytes is the size of the newest repo stats", () => {
        addHost("h1");
        addHost("h2");
        s.insertRepoStats(repoStats("h1", 100, t(1)));
        s.insertRepoStats(repoStats("h1", 70, t(2)));
        s.insertRepoStats(repoStats("h2", 5, t(3)));
        expect(s.hostSummary("h1")?.summary.repo_size_bytes).toBe(70);
        expect(s.hostSummary("h2")?.summary.repo_size_bytes).toBe(5);
      });

      test("config shows the settings without their secrets, only whether they are set", () => {
        addHost("h1");
        addHost("h2");
        s.upsertConfig(config("h1"));
        s.upsertConfig(config("h2", { repo_password_enc: null, repo_credential_enc: null, hook_shell: null }));
        const c1 = s.hostSummary("h1")?.summary.config;
        expect(c1).toEqual({
          repo_url: "s3:https://s3.example/bucket",
          repo_username: "key-id",
          hook_shell: "/bin/sh",
          has_repo_password: true,
          has_repo_credential: true,
        });
        expect(JSON.stringify(s.hostSummaries())).not.toContain("enc:");
        expect(s.hostSummary("h2")?.summary.config).toMatchObject({
          has_repo_password: false,
          has_repo_credential: false,
          hook_shell: null,
        });
      });
    });

    describe("schedules", () => {
      const full = (id: string, host_id: string) =>
        schedule(id, host_id, {
          kind: "backup",
          cron_expr: "30 3 * * 1-5",
          timezone: "Europe/Berlin",
          paths: ["/srv", "/etc"],
          excludes: ["*.tmp"],
          tags: ["nightly"],
          retention_policy: { keep_daily: 7, keep_weekly: 4 },
          options: { "one-file-system": true, "read-concurrency": 4, compression: "max" },
          pre_hook: "pg_dump > /srv/db.sql",
          post_hook: "rm /srv/db.sql",
          enabled: false,
          created_at: t(1),
          updated_at: t(2),
        });

      test("insertSchedule then scheduleById returns every field as written; null for an unknown id", () => {
        addHost("h1");
        s.insertSchedule(full("s1", "h1"));
        expect(s.scheduleById("s1")).toEqual(full("s1", "h1"));
        addSchedule("s2", "h1");
        expect(s.scheduleById("s2")).toEqual(schedule("s2", "h1"));
        expect(s.scheduleById("sx")).toBeNull();
      });

      test("updateSchedule replaces the schedule's fields", () => {
        addHost("h1");
        addSchedule("s1", "h1");
        const changed = { ...full("s1", "h1"), kind: "check" as const, created_at: t(0), updated_at: t(30) };
        s.updateSchedule(changed);
        expect(s.scheduleById("s1")).toEqual(changed);
      });

      test("schedulesForHost lists one host's schedules, oldest first", () => {
        addHost("h1");
        addHost("h2");
        addSchedule("s2", "h1", { created_at: t(2) });
        addSchedule("s1", "h1", { created_at: t(1) });
        addSchedule("s3", "h2", { created_at: t(0) });
        expect(s.schedulesForHost("h1").map((x) => x.id)).toEqual(["s1", "s2"]);
        expect(s.schedulesForHost("hx")).toEqual([]);
      });

      test("backupCadences lists the enabled backup schedules of every host", () => {
        addHost("h1");
        addHost("h2");
        addSchedule("s1", "h1", { cron_expr: "0 1 * * *", timezone: "UTC" });
        addSchedule("s2", "h2", { cron_expr: "0 2 * * *" });
        addSchedule("s3", "h1", { cron_expr: "0 3 * * *", enabled: false });
        addSchedule("s4", "h1", { kind: "check", cron_expr: "0 4 * * *" });
        const byCron = (a: { cron_expr: string }, b: { cron_expr: string }) => a.cron_expr.localeCompare(b.cron_expr);
        expect(s.backupCadences().sort(byCron)).toEqual([
          { host_id: "h1", cron_expr: "0 1 * * *", timezone: "UTC" },
          { host_id: "h2", cron_expr: "0 2 * * *", timezone: null },
        ]);
      });

      test("deleteSchedule removes the schedule and keeps its jobs; false for an unknown id", () => {
        addHost("h1");
        addSchedule("s1", "h1");
        addJob("j1", "h1", { actor_kind: "schedule", scheduled_id: "s1", scheduled_at: t(60) });
        expect(s.deleteSchedule("s1")).toBe(true);
        expect(s.scheduleById("s1")).toBeNull();
        expect(s.jobById("j1")?.id).toBe("j1");
        expect(s.deleteSchedule("s1")).toBe(false);
      });
    });

    describe("jobs", () => {
      test("insertJob then jobById returns every field as written; null for an unknown id", () => {
        addHost("h1");
        addSchedule("s1", "h1");
        const j = job("j1", "h1", {
          actor_kind: "schedule",
          actor_id: "s1",
          scheduled_id: "s1",
          scheduled_at: t(60),
          args: ["/srv", "--one-file-system"],
          spec: { paths: ["/srv"], tags: ["a"], pre_hook: "pg_dumpall > /srv/db.sql" },
        });
        expect(s.insertJob(j)).toEqual({ job: j, created: true });
        expect(s.jobById("j1")).toEqual(j);
        expect(s.jobById("jx")).toBeNull();
      });

      test("each kind's spec reads back as written, and no spec as null", () => {
        addHost("h1");
        const commands: JobCommand[] = [
          { kind: "forget", spec: { policy: { keep_daily: 7, keep_tags: ["keep"] }, prune: true } },
          { kind: "check", spec: { read_data_subset: "10%" } },
          {
            kind: "restore",
            spec: { snapshot_id: "latest", target: "/tmp/r", include: ["/etc"], source_host: "web-b" },
          },
          { kind: "init", spec: {} },
          { kind: "unlock", spec: null },
        ];
        for (const [i, c] of commands.entries()) addJob(`j${i}`, "h1", c);
        expect(commands.map((_, i) => s.jobById(`j${i}`))).toEqual(
          commands.map((c) => expect.objectContaining({ kind: c.kind, spec: c.spec })),
        );
      });

      test("lastCopyJobs: per host and copy target, the newest finished copy and the newest succeeded one", () => {
        addHost("h1");
        addHost("h2");
        const copy = (id: string, host: string, target: string, sec: number, status: TerminalJobStatus) => {
          addJob(id, host, { kind: "copy", spec: { target_id: target }, created_at: t(sec) });
          s.finishJob(id, {
            status,
            exit_code: status === "succeeded" ? 0 : 1,
            finished_at: t(sec + 5),
            stats: status === "succeeded" ? { copy: { snapshot_count: sec } } : undefined,
            error: status === "failed" ? "Fatal: no key" : null,
          });
        };
        copy("c1", "h1", "repo_a", 10, "succeeded");
        copy("c2", "h1", "repo_a", 20, "succeeded");
        copy("c3", "h1", "repo_a", 30, "failed");
        copy("c4", "h1", "repo_b", 40, "succeeded");
        copy("c5", "h2", "repo_a", 50, "failed");
        addJob("c6", "h1", { kind: "copy", spec: { target_id: "repo_b" }, created_at: t(60) }); // queued: not finished
        addJob("b1", "h1", { created_at: t(70) }); // not a copy
        const pick = (rows: ReturnType<typeof s.lastCopyJobs>) =>
          rows
            .map((r) => [r.host_id, r.target_id, r.role, r.id, r.status, r.error])
            .sort((x, y) => x.join().localeCompare(y.join()));
        expect(pick(s.lastCopyJobs())).toEqual([
          ["h1", "repo_a", "last", "c3", "failed", "Fatal: no key"],
          ["h1", "repo_a", "success", "c2", "succeeded", null],
          ["h1", "repo_b", "last", "c4", "succeeded", null],
          ["h1", "repo_b", "success", "c4", "succeeded", null],
          ["h2", "repo_a", "last", "c5", "failed", "Fatal: no key"],
        ]);
        expect(pick(s.lastCopyJobs("h2"))).toEqual([["h2", "repo_a", "last", "c5", "failed", "Fatal: no key"]]);
        expect(s.lastCopyJobs("h1").find((r) => r.id === "c2")?.stats).toEqual({ copy: { snapshot_count: 20 } });
        expect(s.lastCopyJobs("hx")).toEqual([]);
      });

      test("insertJob is idempotent per schedule tick: created false and the first job back", () => {
        addHost("h1");
        addSchedule("s1", "h1");
        const first = addJob("j1", "h1", { actor_kind: "schedule", scheduled_id: "s1", scheduled_at: t(60) });
        const again = s.insertJob(
          job("j2", "h1", { actor_kind: "schedule", scheduled_id: "s1", scheduled_at: t(60), created_at: t(5) }),
        );
        expect(again).toEqual({ job: first, created: false });
        expect(s.jobById("j2")).toBeNull();
        // Another tick of the same schedule is a new job.
        expect(
          s.insertJob(job("j3", "h1", { actor_kind: "schedule", scheduled_id: "s1", scheduled_at: t(120) })).created,
        ).toBe(true);
      });

      test("insertJob absorbs only a repeated tick: a duplicate id or an unknown host throws", () => {
        addHost("h1");
        addJob("j1", "h1");
        expect(() => s.insertJob(job("j1", "h1", { created_at: t(9) }))).toThrow();
        expect(() => s.insertJob(job("j2", "nope"))).toThrow();
        expect(jobsOf({ limit: 10 }).map((j) => j.id)).toEqual(["j1"]);
      });

      test("jobs without a schedule tick never collide", () => {
        addHost("h1");
        expect(s.insertJob(job("j1", "h1")).created).toBe(true);
        expect(s.insertJob(job("j2", "h1")).created).toBe(true);
        expect(jobsOf({ limit: 10 })).toHaveLength(2);
      });

      test("listJobs lists newest first, by created_at then id, up to the limit", () => {
        addHost("h1");
        addJob("j1", "h1", { created_at: t(1) });
        addJob("j3", "h1", { created_at: t(2) });
        addJob("j2", "h1", { created_at: t(2) });
        addJob("j0", "h1", { created_at: t(3) });
        expect(jobsOf({ limit: 10 }).map((j) => j.id)).toEqual(["j0", "j3", "j2", "j1"]);
        expect(jobsOf({ limit: 2 }).map((j) => j.id)).toEqual(["j0", "j3"]);
      });

      test("listJobs `after` is an exclusive (created_at, id) cursor that walks every job once", () => {
        addHost("h1");
        // Ties on created_at across page boundaries: the id breaks them.
        for (let i = 0; i < 7; i++) addJob(`j${i}`, "h1", { created_at: t(i % 3) });
        const all = jobsOf({ limit: 100 }).map((j) => j.id);
        const seen: string[] = [];
        let after: { created_at: string; id: string } | undefined;
        // Bounded: a cursor that does not advance fails the test instead of hanging it.
        for (let pages = 0; pages < 5; pages++) {
          const page = jobsOf({ limit: 3, after });
          seen.push(...page.map((j) => j.id));
          const last = page.at(-1);
          if (page.length < 3 || !last) break;
          after = { created_at: last.created_at, id: last.id };
        }
        expect(seen).toEqual(all);
        expect(new Set(seen).size).toBe(7);
        expect(jobsOf({ limit: 10, after: { created_at: t(1), id: "j4" } }).map((j) => j.id)).toEqual([
          "j1",
          "j6",
          "j3",
          "j0",
        ]);
      });

      test("listJobs filters by host_id and status, together and with the cursor", () => {
        addHost("h1");
        addHost("h2");
        addJob("a", "h1", { created_at: t(1) });
        addJob("b", "h1", { created_at: t(2) });
        addJob("c", "h2", { created_at: t(3) });
        addJob("d", "h1", { created_at: t(4) });
        s.markRunning("b", t(5));
        s.markRunning("c", t(5));
        s.markRunning("d", t(5));
        expect(jobsOf({ host_id: "h1", limit: 10 }).map((j) => j.id)).toEqual(["d", "b", "a"]);
        expect(jobsOf({ status: "running", limit: 10 }).map((j) => j.id)).toEqual(["d", "c", "b"]);
        expect(jobsOf({ host_id: "h1", status: "running", limit: 10 }).map((j) => j.id)).toEqual(["d", "b"]);
        expect(
          jobsOf({ host_id: "h1", status: "running", limit: 10, after: { created_at: t(4), id: "d" } }).map(
            (j) => j.id,
          ),
        ).toEqual(["b"]);
        expect(jobsOf({ host_id: "hx", limit: 10 })).toEqual([]);
      });

      test("undeliveredJobs lists a host's queued, unaccepted jobs, oldest first", () => {
        addHost("h1");
        addHost("h2");
        addJob("j2", "h1", { created_at: t(2) });
        addJob("j1", "h1", { created_at: t(1) });
        addJob("accepted", "h1", { created_at: t(3) });
        addJob("running", "h1", { created_at: t(4) });
        addJob("done", "h1", { created_at: t(5) });
        addJob("other", "h2", { created_at: t(0) });
        s.markDispatched("j2", t(6)); // dispatched but not accepted: still undelivered
        s.markAccepted("accepted", t(6));
        s.markRunning("running", t(6));
        finish("done", "cancelled", t(6));
        expect(s.undeliveredJobs("h1").map((j) => j.id)).toEqual(["j1", "j2"]);
      });

      test("markDispatched stamps the delivery and counts it, while the job is queued", () => {
        addHost("h1");
        addJob("j1", "h1");
        s.markDispatched("j1", t(1));
        expect(s.jobById("j1")).toMatchObject({ dispatched_at: t(1), dispatch_attempts: 1 });
        s.markDispatched("j1", t(2));
        expect(s.jobById("j1")).toMatchObject({ dispatched_at: t(2), dispatch_attempts: 2 });
        s.markRunning("j1", t(3));
        s.markDispatched("j1", t(4));
        expect(s.jobById("j1")).toMatchObject({ dispatched_at: t(2), dispatch_attempts: 2 });
      });

      test("renewDispatch moves dispatched_at without counting a delivery, only while queued and unaccepted", () => {
        addHost("h1");
        addJob("j1", "h1");
        addJob("j2", "h1");
        s.markDispatched("j1", t(1));
        s.renewDispatch("j1", t(5));
        expect(s.jobById("j1")).toMatchObject({ dispatched_at: t(5), dispatch_attempts: 1 });
        s.markDispatched("j2", t(1));
        s.markAccepted("j2", t(2));
        s.renewDispatch("j2", t(5));
        expect(s.jobById("j2")?.dispatched_at).toBe(t(1));
      });

      test("unacceptedSince lists queued jobs dispatched before the cutoff and never accepted, across hosts", () => {
        addHost("h1");
        addHost("h2");
        for (const id of ["old1", "old2", "fresh", "accepted", "undispatched", "cancelled"]) {
          addJob(id, id === "old2" ? "h2" : "h1");
        }
        s.markDispatched("old1", t(1));
        s.markDispatched("old2", t(2));
        s.markDispatched("fresh", t(20));
        s.markDispatched("accepted", t(1));
        s.markAccepted("accepted", t(2));
        s.markDispatched("cancelled", t(1));
        finish("cancelled", "cancelled", t(3));
        expect(sorted(s.unacceptedSince(t(10)).map((j) => j.id))).toEqual(["old1", "old2"]);
      });

      test("cancelledUnaccepted lists a host's jobs cancelled after delivery, before acceptance, since a time", () => {
        addHost("h1");
        addHost("h2");
        const cancel = (id: string, host: string, o: { dispatched?: boolean; accepted?: boolean; at: string }) => {
          addJob(id, host);
          if (o.dispatched ?? true) s.markDispatched(id, t(1));
          if (o.accepted) s.markAccepted(id, t(2));
          finish(id, "cancelled", o.at);
        };
        cancel("yes1", "h1", { at: t(100) });
        cancel("yes2", "h1", { at: t(50) }); // finished exactly at `since`
        cancel("too-old", "h1", { at: t(10) });
        cancel("never-sent", "h1", { dispatched: false, at: t(100) });
        cancel("accepted", "h1", { accepted: true, at: t(100) });
        cancel("other-host", "h2", { at: t(100) });
        addJob("failed", "h1");
        s.markDispatched("failed", t(1));
        finish("failed", "failed", t(100));
        expect(sorted(s.cancelledUnaccepted("h1", t(50)))).toEqual(["yes1", "yes2"]);
      });

      test("markAccepted keeps the first acceptance time while the job is queued or running; refused once finished", () => {
        addHost("h1");
        addJob("j1", "h1");
        expect(s.markAccepted("j1", t(1))).toBe(true);
        expect(s.markAccepted("j1", t(2))).toBe(true);
        expect(s.jobById("j1")?.accepted_at).toBe(t(1));
        addJob("j2", "h1");
        s.markRunning("j2", t(3));
        expect(s.markAccepted("j2", t(4))).toBe(true);
        expect(s.jobById("j2")?.accepted_at).toBe(t(3));
        finish("j1", "succeeded", t(5));
        expect(s.markAccepted("j1", t(6))).toBe(false);
        expect(s.markAccepted("jx", t(6))).toBe(false);
      });

      test("markRunning moves a queued job to running, stamping started_at and accepted_at if missing", () => {
        addHost("h1");
        addJob("j1", "h1");
        addJob("j2", "h1");
        expect(s.markRunning("j1", t(3))).toBe(true);
        expect(s.jobById("j1")).toMatchObject({ status: "running", started_at: t(3), accepted_at: t(3) });
        s.markAccepted("j2", t(1));
        expect(s.markRunning("j2", t(3))).toBe(true);
        expect(s.jobById("j2")).toMatchObject({ status: "running", started_at: t(3), accepted_at: t(1) });
      });

      test("markRunning is refused for a job already running or finished", () => {
        addHost("h1");
        addJob("j1", "h1");
        addJob("j2", "h1");
        s.markRunning("j1", t(1));
        expect(s.markRunning("j1", t(2))).toBe(false);
        expect(s.jobById("j1")?.started_at).toBe(t(1));
        finish("j2", "cancelled", t(1));
        expect(s.markRunning("j2", t(2))).toBe(false);
        expect(s.jobById("j2")).toMatchObject({ status: "cancelled", started_at: null });
        expect(s.markRunning("jx", t(2))).toBe(false);
      });

      test("setProgress replaces the progress while the job is queued or running; refused once finished", () => {
        addHost("h1");
        addJob("j1", "h1");
        expect(s.setProgress("j1", { percent_done: 0 })).toBe(true);
        s.markRunning("j1", t(1));
        expect(s.setProgress("j1", { percent_done: 0.5, files_done: 10 })).toBe(true);
        expect(s.jobById("j1")?.progress).toEqual({ percent_done: 0.5, files_done: 10 });
        finish("j1", "succeeded", t(2));
        expect(s.setProgress("j1", { percent_done: 0.9 })).toBe(false);
        expect(s.jobById("j1")?.progress).toEqual({ percent_done: 0.5, files_done: 10 });
        expect(s.setProgress("jx", {})).toBe(false);
      });

      test("finishJob finishes a running job with its exit code, stats and error", () => {
        addHost("h1");
        addJob("j1", "h1");
        s.markRunning("j1", t(1));
        const stats = { files_new: 3, data_added: 1024 };
        expect(s.finishJob("j1", { status: "failed", exit_code: 3, finished_at: t(9), stats, error: "boom" })).toBe(
          true,
        );
        expect(s.jobById("j1")).toMatchObject({
          status: "failed",
          exit_code: 3,
          finished_at: t(9),
          stats,
          error: "boom",
          started_at: t(1),
        });
      });

      test("finishJob finishes a queued job (a cancel before the agent accepted it)", () => {
        addHost("h1");
        addJob("j1", "h1");
        expect(s.finishJob("j1", { status: "cancelled", exit_code: null, finished_at: t(2), error: "by alice" })).toBe(
          true,
        );
        expect(s.jobById("j1")).toMatchObject({
          status: "cancelled",
          finished_at: t(2),
          error: "by alice",
          stats: null,
        });
      });

      test("a finished job never changes again: finishJob returns false and leaves it as it was", () => {
        addHost("h1");
        addJob("j1", "h1");
        s.markRunning("j1", t(1));
        expect(finish("j1", "succeeded", t(2))).toBe(true);
        const done = s.jobById("j1");
        expect(
          s.finishJob("j1", { status: "failed", exit_code: 1, finished_at: t(3), stats: { x: 1 }, error: "x" }),
        ).toBe(false);
        expect(s.jobById("j1")).toEqual(done);
        expect(finish("jx", "failed", t(3))).toBe(false);
      });

      test("lastJobOfKind is a host's newest job of that kind, by created_at then id", () => {
        addHost("h1");
        addHost("h2");
        addJob("b1", "h1", { created_at: t(1) });
        addJob("b3", "h1", { created_at: t(2) });
        addJob("b2", "h1", { created_at: t(2) });
        addJob("c1", "h1", { kind: "check", created_at: t(3) });
        addJob("b9", "h2", { created_at: t(9) });
        expect(s.lastJobOfKind("h1", "backup")?.id).toBe("b3");
        expect(s.lastJobOfKind("h1", "check")?.id).toBe("c1");
        expect(s.lastJobOfKind("h1", "prune")).toBeNull();
      });

      test("lastSuccessfulBackupAt is the latest finish of a host's succeeded backups", () => {
        addHost("h1");
        addHost("h2");
        expect(s.lastSuccessfulBackupAt("h1")).toBeNull();
        addJob("a", "h1", { created_at: t(1) });
        addJob("b", "h1", { created_at: t(2) });
        addJob("c", "h1", { created_at: t(3) });
        addJob("d", "h1", { kind: "check", created_at: t(4) });
        addJob("e", "h2", { created_at: t(5) });
        finish("b", "succeeded", t(20));
        finish("a", "succeeded", t(10));
        finish("c", "failed", t(30));
        finish("d", "succeeded", t(40));
        finish("e", "succeeded", t(50));
        expect(s.lastSuccessfulBackupAt("h1")).toBe(t(20));
      });

      test("jobCounts counts the jobs by kind and status", () => {
        addHost("h1");
        addHost("h2");
        addJob("a", "h1");
        addJob("b", "h2");
        addJob("c", "h1");
        addJob("d", "h1", { kind: "check" });
        finish("c", "failed", t(1));
        const key = (r: { kind: string; status: string }) => `${r.kind}/${r.status}`;
        const counts = s.jobCounts().sort((x, y) => key(x).localeCompare(key(y)));
        expect(counts).toEqual([
          { kind: "backup", status: "failed", n: 1 },
          { kind: "backup", status: "queued", n: 2 },
          { kind: "check", status: "queued", n: 1 },
        ]);
      });
    });

    describe("ticks and skipped ticks", () => {
      const tick = (sec: number) => ({ actor_kind: "schedule" as const, scheduled_id: "s1", scheduled_at: t(sec) });

      test("jobOfTick finds a tick's job; pendingTickJob the newest queued or running one of the schedule on the host", () => {
        addHost("h1");
        addHost("h2");
        addSchedule("s1", "h1");
        addSchedule("s2", "h1");
        addJob("a", "h1", { ...tick(0), created_at: t(0) });
        addJob("b", "h1", { ...tick(2), created_at: t(2) });
        addJob("other", "h1", { actor_kind: "schedule", scheduled_id: "s2", scheduled_at: t(4), created_at: t(4) });
        addJob("manual", "h1", { created_at: t(5) });
        expect(s.jobOfTick("s1", t(2))?.id).toBe("b");
        expect(s.jobOfTick("s1", t(4))).toBeNull();
        expect(s.pendingTickJob("s1", "h1")?.id).toBe("b");
        expect(s.pendingTickJob("s1", "h2")).toBeNull();
        s.markRunning("a", t(1));
        finish("b", "succeeded", t(3));
        expect(s.pendingTickJob("s1", "h1")?.id).toBe("a");
        finish("a", "cancelled", t(3));
        expect(s.pendingTickJob("s1", "h1")).toBeNull();
      });

      test("addSkippedTick counts per job and widens the range; skipOfTick finds a tick inside it; the newest is the schedule's last", () => {
        addHost("h1");
        addSchedule("s1", "h1");
        addJob("a", "h1", tick(0));
        addJob("b", "h1", tick(10));
        expect(s.lastSkippedTicks("s1")).toBeNull();
        const skip = (job_id: string, sec: number, reason: string) =>
          s.addSkippedTick({ job_id, schedule_id: "s1", scheduled_at: t(sec), at: t(sec + 0.5), reason });
        skip("a", 4, "previous run a still queued");
        skip("a", 2, "previous run a still running");
        skip("a", 6, "previous run a still running");
        expect(s.lastSkippedTicks("s1")).toEqual({
          job_id: "a",
          schedule_id: "s1",
          count: 3,
          first_scheduled_at: t(2),
          last_scheduled_at: t(6),
          last_skipped_at: t(6.5),
          last_reason: "previous run a still running",
        });
        expect(s.skipOfTick("s1", t(4))?.job_id).toBe("a");
        expect(s.skipOfTick("s1", t(8))).toBeNull();
        skip("b", 12, "previous run b still running");
        expect(s.lastSkippedTicks("s1")?.job_id).toBe("b");
        expect(s.skipOfTick("s1", t(12))?.count).toBe(1);
        expect(s.skipOfTick("s1", t(2))?.job_id).toBe("a");
        // Gone with its schedule.
        s.deleteSchedule("s1");
        expect(s.lastSkippedTicks("s1")).toBeNull();
      });
    });

    describe("agent data", () => {
      test("rememberEnvelope is true the first time a host sends an id, false for a re-send", () => {
        addHost("h1");
        addHost("h2");
        expect(s.rememberEnvelope("h1", "e1", t(0))).toBe(true);
        expect(s.rememberEnvelope("h1", "e1", t(1))).toBe(false);
        expect(s.rememberEnvelope("h2", "e1", t(1))).toBe(true);
        expect(s.rememberEnvelope("h1", "e2", t(1))).toBe(true);
      });

      test("forgetEnvelopesBefore forgets the ids received before the time", () => {
        addHost("h1");
        s.rememberEnvelope("h1", "old", t(0));
        s.rememberEnvelope("h1", "edge", t(10));
        s.forgetEnvelopesBefore(t(10));
        expect(s.rememberEnvelope("h1", "old", t(20))).toBe(true);
        expect(s.rememberEnvelope("h1", "edge", t(20))).toBe(false);
      });

      test("insertLogs keeps the first line of each seq; logsAfter pages a job's lines by seq", () => {
        addHost("h1");
        addJob("j1", "h1");
        addJob("j2", "h1");
        s.tx(() => {
          s.insertLogs("h1", costed([logLine("j1", 2), logLine("j1", 1), logLine("j2", 1, "other job")]));
          s.insertLogs("h1", costed([logLine("j1", 1, "re-sent"), logLine("j1", 3), logLine("j1", 4)]));
        });
        expect(logsOf("j1", 0, 10)).toEqual([1, 2, 3, 4].map((n) => logLine("j1", n)));
        expect(logsOf("j1", 0, 2).map((l) => l.seq)).toEqual([1, 2]);
        expect(logsOf("j1", 2, 2).map((l) => l.seq)).toEqual([3, 4]);
        expect(logsOf("j1", 4, 2)).toEqual([]);
        expect(logsOf("j2", 0, 10)).toEqual([logLine("j2", 1, "other job")]);
      });

      test("logsAfter and listJobs read lazily: a reader that stops early leaves the next read whole", () => {
        addHost("h1");
        addJob("j1", "h1", { created_at: t(1) });
        addJob("j2", "h1", { created_at: t(2) });
        s.tx(() => s.insertLogs("h1", costed([1, 2, 3].map((n) => logLine("j1", n)))));
        for (const line of s.logsAfter("j1", 0, 10)) {
          expect(line.seq).toBe(1);
          break;
        }
        expect(logsOf("j1", 0, 10).map((l) => l.seq)).toEqual([1, 2, 3]);
        for (const job of s.listJobs({ limit: 10 })) {
          expect(job.id).toBe("j2");
          break;
        }
        expect(jobsOf({ limit: 10 }).map((j) => j.id)).toEqual(["j2", "j1"]);
      });

      test("insertLogs adds the cost of the lines it stores to their job's and host's counters", () => {
        addHost("h1");
        addHost("h2");
        addJob("j1", "h1");
        addJob("j2", "h1");
        addJob("j3", "h2");
        expect(s.logUsage("j1")).toEqual({ host_id: "h1", job_bytes: 0, capped: false, host_bytes: 0 });
        expect(s.logUsage("nope")).toBeNull();
        s.tx(() => {
          s.insertLogs("h1", [...costed([logLine("j1", 1), logLine("j1", 2)], 100), ...costed([logLine("j2", 1)], 7)]);
          // A seq already stored is neither stored again nor counted.
          s.insertLogs("h1", costed([logLine("j1", 2, "again"), logLine("j1", 3)], 100));
          s.insertLogs("h2", costed([logLine("j3", 1)], 5));
        });
        expect(s.logUsage("j1")).toEqual({ host_id: "h1", job_bytes: 300, capped: false, host_bytes: 307 });
        expect(s.logUsage("j2")).toEqual({ host_id: "h1", job_bytes: 7, capped: false, host_bytes: 307 });
        expect(s.logUsage("j3")).toEqual({ host_id: "h2", job_bytes: 5, capped: false, host_bytes: 5 });
      });

      test("capLog stores the marker, over a line of its seq if any, and marks the job capped", () => {
        addHost("h1");
        addJob("j1", "h1");
        addJob("j2", "h1");
        s.tx(() => s.insertLogs("h1", costed([logLine("j1", 1), logLine("j1", 2)], 50)));
        const marker = { job_id: "j1", seq: 2, ts: t(9), stream: "event", payload: "log limit reached" };
        s.tx(() => {
          s.capLog(marker);
          s.capLog({ ...marker, job_id: "j2", seq: 1 });
        });
        expect(logsOf("j1", 0, 10)).toEqual([logLine("j1", 1), marker]);
        expect(s.logUsage("j1")).toEqual({ host_id: "h1", job_bytes: 100, capped: true, host_bytes: 100 });
        expect(s.logUsage("j2")).toMatchObject({ job_bytes: 0, capped: true });
      });

      test("replaceSnapshots replaces the host's whole list and leaves other hosts' alone", () => {
        addHost("h1");
        addHost("h2");
        s.tx(() => s.replaceSnapshots("h1", [snapshot("a", t(1)), snapshot("b", t(2))]));
        s.tx(() => s.replaceSnapshots("h2", [snapshot("a", t(1))]));
        s.tx(() => s.replaceSnapshots("h1", [snapshot("c", t(3))]));
        expect(s.snapshotsForHost("h1").map((x) => x.short_id)).toEqual(["cccccccc"]);
        expect(s.snapshotsForHost("h2").map((x) => x.short_id)).toEqual(["aaaaaaaa"]);
        s.tx(() => s.replaceSnapshots("h1", []));
        expect(s.snapshotsForHost("h1")).toEqual([]);
      });

      test("snapshotsForHost lists newest first, every field as written", () => {
        addHost("h1");
        const noTags = { ...snapshot("c", t(2)), tags: [], size_bytes: null, file_count: null };
        s.tx(() => s.replaceSnapshots("h1", [snapshot("a", t(1)), snapshot("b", t(3)), noTags]));
        expect(s.snapshotsForHost("h1")).toEqual([
          { host_id: "h1", ...snapshot("b", t(3)) },
          { host_id: "h1", ...noTags },
          { host_id: "h1", ...snapshot("a", t(1)) },
        ]);
      });

      test("repoStatsForHost lists a host's repo stats newest first, up to the limit", () => {
        addHost("h1");
        addHost("h2");
        s.insertRepoStats(repoStats("h1", 100, t(1)));
        s.insertRepoStats({ ...repoStats("h1", 200, t(2)), last_check_at: null, last_check_status: null });
        s.insertRepoStats(repoStats("h2", 999, t(3)));
        s.insertRepoStats(repoStats("h1", 300, t(4)));
        expect(s.repoStatsForHost("h1", 10)).toEqual([
          repoStats("h1", 300, t(4)),
          { ...repoStats("h1", 200, t(2)), last_check_at: null, last_check_status: null },
          repoStats("h1", 100, t(1)),
        ]);
        expect(s.repoStatsForHost("h1", 1).map((r) => r.size_bytes)).toEqual([300]);
        expect(s.repoStatsForHost("hx", 10)).toEqual([]);
      });
    });

    describe("audit", () => {
      test("listAudit returns the entries newest first, every field as written", () => {
        s.insertAudit(auditEntry("a.first", t(1)));
        s.insertAudit({
          ...auditEntry("a.second", t(2)),
          actor_id: null,
          actor_name: null,
          target: null,
          detail: null,
        });
        const list = s.listAudit(10, null);
        expect(list.map(({ seq: _, ...e }) => e)).toEqual([
          { ...auditEntry("a.second", t(2)), actor_id: null, actor_name: null, target: null, detail: null },
          auditEntry("a.first", t(1)),
        ]);
        expect(list[0]?.seq).toBeGreaterThan(list[1]?.seq ?? Number.POSITIVE_INFINITY);
      });

      test("listAudit pages with before_seq, an exclusive cursor", () => {
        for (let i = 1; i <= 5; i++) s.insertAudit(auditEntry(`a${i}`, t(i)));
        const first = s.listAudit(2, null);
        expect(first.map((e) => e.action)).toEqual(["a5", "a4"]);
        const second = s.listAudit(2, first.at(-1)?.seq ?? null);
        expect(second.map((e) => e.action)).toEqual(["a3", "a2"]);
        const third = s.listAudit(2, second.at(-1)?.seq ?? null);
        expect(third.map((e) => e.action)).toEqual(["a1"]);
        expect(s.listAudit(2, third.at(-1)?.seq ?? null)).toEqual([]);
      });
    });

    describe("repositories", () => {
      const repo = (id: string, over: Partial<RepositoryRow> = {}): RepositoryRow => ({
        id,
        name: `repo ${id}`,
        url: "s3:https://s3.example/backups/{host}",
        password_enc: "enc:pw",
        username: "key-id",
        credential_enc: "enc:secret",
        env: { AWS_DEFAULT_REGION: "eu-central-1" },
        secret_env_enc: "enc:env",
        auto_init: true,
        created_at: t(0),
        updated_at: t(0),
        ...over,
      });
      const hostSecret = (repository_id: string, host_id: string, password_enc = `enc:${host_id}`) => ({
        repository_id,
        host_id,
        host_name: `name of ${host_id}`,
        restic_host: `${host_id}.lan`,
        password_enc,
        created_at: t(1),
      });

      test("insertRepository then repositoryById returns every field as written; null for an unknown id", () => {
        const r = repo("repo_1");
        s.insertRepository(r);
        expect(s.repositoryById("repo_1")).toEqual(r);
        const bare = repo("repo_2", {
          password_enc: null,
          username: null,
          credential_enc: null,
          env: {},
          secret_env_enc: null,
          auto_init: false,
        });
        s.insertRepository(bare);
        expect(s.repositoryById("repo_2")).toEqual(bare);
        expect(s.repositoryById("repo_x")).toBeNull();
      });

      test("repositoryByName finds a repository whatever the case; a second one of that name throws", () => {
        s.insertRepository(repo("repo_1", { name: "Offsite" }));
        expect(s.repositoryByName("offsite")?.id).toBe("repo_1");
        expect(s.repositoryByName("OFFSITE")?.id).toBe("repo_1");
        expect(s.repositoryByName("other")).toBeNull();
        expect(() => s.insertRepository(repo("repo_2", { name: "offsite" }))).toThrow();
        expect(s.listRepositories().map((r) => r.id)).toEqual(["repo_1"]);
      });

      test("listRepositories orders by name", () => {
        s.insertRepository(repo("repo_1", { name: "nas" }));
        s.insertRepository(repo("repo_2", { name: "archive" }));
        s.insertRepository(repo("repo_3", { name: "s3" }));
        expect(s.listRepositories().map((r) => r.name)).toEqual(["archive", "nas", "s3"]);
      });

      test("updateRepository replaces every field but created_at", () => {
        s.insertRepository(repo("repo_1"));
        const changed = repo("repo_1", {
          name: "renamed",
          url: "/srv/restic",
          password_enc: "enc:new",
          username: null,
          credential_enc: null,
          env: { AWS_ACCESS_KEY_ID: "AKIA" },
          secret_env_enc: null,
          auto_init: false,
          created_at: t(99),
          updated_at: t(5),
        });
        s.updateRepository(changed);
        expect(s.repositoryById("repo_1")).toEqual({ ...changed, created_at: t(0) });
      });

      test("ensureRepositoryHostSecret keeps the first password of (repository, host) and returns it", () => {
        s.insertRepository(repo("repo_1"));
        s.insertRepository(repo("repo_2"));
        const first = hostSecret("repo_1", "h1", "enc:first");
        expect(s.ensureRepositoryHostSecret(first)).toEqual(first);
        expect(s.ensureRepositoryHostSecret(hostSecret("repo_1", "h1", "enc:second"))).toEqual(first);
        // Another host, or another repository, gets its own.
        expect(s.ensureRepositoryHostSecret(hostSecret("repo_1", "h2")).password_enc).toBe("enc:h2");
        expect(s.ensureRepositoryHostSecret(hostSecret("repo_2", "h1")).password_enc).toBe("enc:h1");
        expect(s.repositoryHostSecrets("repo_1")).toEqual([first, hostSecret("repo_1", "h2")]);
      });

      test("repositoryHostSecrets orders by restic host name; a host's revocation leaves its password", () => {
        s.insertRepository(repo("repo_1"));
        addHost("h1");
        s.ensureRepositoryHostSecret({ ...hostSecret("repo_1", "h1"), restic_host: "zeta" });
        s.ensureRepositoryHostSecret({ ...hostSecret("repo_1", "h2"), restic_host: "alpha" });
        s.deleteHost("h1");
        expect(s.repositoryHostSecrets("repo_1").map((x) => x.restic_host)).toEqual(["alpha", "zeta"]);
        expect(s.repositoryHostSecrets("repo_x")).toEqual([]);
      });

      test("deleteRepository removes it with its generated passwords; false for an unknown id", () => {
        s.insertRepository(repo("repo_1"));
        s.insertRepository(repo("repo_2"));
        s.ensureRepositoryHostSecret(hostSecret("repo_1", "h1"));
        s.ensureRepositoryHostSecret(hostSecret("repo_2", "h1"));
        expect(s.deleteRepository("repo_1")).toBe(true);
        expect(s.repositoryById("repo_1")).toBeNull();
        expect(s.repositoryHostSecrets("repo_1")).toEqual([]);
        expect(s.repositoryHostSecrets("repo_2")).toHaveLength(1);
        expect(s.deleteRepository("repo_1")).toBe(false);
        // A new repository under the old id starts without passwords.
        s.insertRepository(repo("repo_1"));
        expect(s.repositoryHostSecrets("repo_1")).toEqual([]);
      });

      test("repositoryUsers is empty for a repository nothing uses, and for an unknown id", () => {
        s.insertRepository(repo("repo_1"));
        expect(s.repositoryUsers("repo_1")).toEqual([]);
        expect(s.repositoryUsers("repo_x")).toEqual([]);
      });
    });

    describe("policies", () => {
      const schedule = (id: string, policy_id: string, over: Partial<PolicyScheduleRow> = {}): PolicyScheduleRow => ({
        id,
        policy_id,
        kind: "backup",
        cron_expr: "0 2 * * *",
        timezone: "Europe/Berlin",
        jitter: null,
        paths: ["/srv"],
        excludes: ["*.tmp"],
        tags: ["nightly"],
        retention_policy: null,
        options: {},
        pre_hook: "echo pre",
        post_hook: null,
        stdin_command: null,
        stdin_filename: null,
        enabled: true,
        ...over,
      });
      const policy = (id: string, over: Partial<PolicyRow> = {}): PolicyRow => ({
        id,
        name: `policy ${id}`,
        selector: { labels: { env: "prod" } },
        repository_id: null,
        priority: 0,
        enabled: true,
        copy_targets: [],
        max_offline_age: null,
        schedules: [
          schedule(`${id}_s1`, id),
          schedule(`${id}_s2`, id, {
            kind: "forget",
            paths: [],
            excludes: [],
            tags: [],
            pre_hook: null,
            retention_policy: { keep_daily: 7 },
            options: { prune: true },
          }),
        ],
        created_at: t(0),
        updated_at: t(0),
        ...over,
      });
      const repository = (id: string): RepositoryRow => ({
        id,
        name: `repo ${id}`,
        url: "/srv/{host}",
        password_enc: null,
        username: null,
        credential_enc: null,
        env: {},
        secret_env_enc: null,
        auto_init: false,
        created_at: t(0),
        updated_at: t(0),
      });

      test("insertPolicy then policyById returns every field and its schedules in order; by name whatever the case", () => {
        const p = policy("pol_1");
        s.insertPolicy(p);
        expect(s.policyById("pol_1")).toEqual(p);
        expect(s.policyByName("POLICY POL_1")?.id).toBe("pol_1");
        expect(s.policyById("pol_x")).toBeNull();
        expect(() => s.insertPolicy(policy("pol_2", { name: "Policy pol_1" }))).toThrow();
      });

      test("updatePolicy replaces the fields and the whole schedule list; list is by priority, then name", () => {
        s.insertPolicy(policy("pol_a", { name: "b", priority: 0 }));
        s.insertPolicy(policy("pol_b", { name: "a", priority: 0 }));
        const changed = policy("pol_a", {
          name: "c",
          priority: 5,
          enabled: false,
          selector: {},
          schedules: [schedule("pol_a_s9", "pol_a", { cron_expr: "5 1 * * *" })],
          updated_at: t(3),
        });
        s.updatePolicy(changed);
        expect(s.policyById("pol_a")).toEqual(changed);
        expect(s.listPolicies().map((p) => p.name)).toEqual(["c", "a"]);
        expect(s.deletePolicy("pol_a")).toBe(true);
        expect(s.deletePolicy("pol_a")).toBe(false);
        expect(s.listPolicies().map((p) => p.id)).toEqual(["pol_b"]);
      });

      test("a policy's repository cannot be deleted under it, and is named among the repository's users", () => {
        s.insertRepository(repository("repo_1"));
        s.insertPolicy(policy("pol_1", { name: "web", repository_id: "repo_1" }));
        s.insertPolicy(policy("pol_2", { name: "db", repository_id: "repo_1" }));
        expect(s.repositoryUsers("repo_1")).toEqual(["policy db", "policy web"]);
        expect(() => s.deleteRepository("repo_1")).toThrow();
        s.deletePolicy("pol_1");
        s.deletePolicy("pol_2");
        expect(s.repositoryUsers("repo_1")).toEqual([]);
        expect(s.deleteRepository("repo_1")).toBe(true);
      });

      test("hostFacts reads every host's alert facts, ordered by id; cadenceGeneration moves on schedule and zone writes", () => {
        addHost("h2", { name: "b" });
        addHost("h1", { name: "a" });
        s.setHostLabels("h1", { env: "prod" });
        expect(s.hostFacts().map((f) => [f.host.id, f.host.name, f.host.labels, f.summary.last_backup])).toEqual([
          ["h1", "a", { env: "prod" }, null],
          ["h2", "b", {}, null],
        ]);
        const g0 = s.cadenceGeneration();
        const sch = blankSchedule({
          id: "s1",
          host_id: "h1",
          kind: "backup",
          cron_expr: "0 2 * * *",
          paths: ["/srv"],
          created_at: t(0),
        });
        s.insertSchedule(sch);
        const g1 = s.cadenceGeneration();
        expect(g1).not.toBe(g0);
        s.updateSchedule({ ...sch, cron_expr: "0 3 * * *" });
        const g2 = s.cadenceGeneration();
        expect(g2).not.toBe(g1);
        s.recordHello("h1", hello({ timezone: "Europe/Berlin" }));
        const g3 = s.cadenceGeneration();
        expect(g3).not.toBe(g2);
        s.recordHello("h1", hello({ timezone: "Europe/Berlin", at: t(20) }));
        expect(s.cadenceGeneration()).toBe(g3); // the same zone again: nothing to recompute
        s.deleteSchedule("s1");
        expect(s.cadenceGeneration()).not.toBe(g3);
      });

      test("batch reads and the version bump for many hosts: one statement each, unknown ids skipped", () => {
        for (const id of ["h1", "h2", "h3"]) addHost(id);
        s.upsertConfig({
          host_id: "h2",
          repo_url: "/srv/own",
          repo_password_enc: null,
          repo_username: null,
          repo_credential_enc: null,
          hook_shell: null,
          updated_at: t(0),
        });
        s.upsertConfig({
          host_id: "h3",
          repo_url: null,
          repo_password_enc: "enc:x",
          repo_username: null,
          repo_credential_enc: null,
          hook_shell: null,
          updated_at: t(0),
        });
        const own = (id: string, host_id: string, created_at: string, policy_id: string | null = null) =>
          blankSchedule({
            id,
            host_id,
            kind: "backup",
            cron_expr: "0 2 * * *",
            paths: ["/srv"],
            created_at,
            policy_id,
          });
        s.insertSchedule(own("s_b", "h1", t(2)));
        s.insertSchedule(own("s_a", "h1", t(1), "pol_1"));
        s.insertSchedule(own("s_c", "h3", t(0), "pol_1"));
        s.insertSchedule(own("s_d", "h2", t(0)));
        expect(s.hostsByIds(["h3", "hx", "h1"]).map((h) => h.id)).toEqual(["h1", "h3"]);
        expect(s.hostsByIds([])).toEqual([]);
        expect(s.hostsWithOwnRepository(["h1", "h2", "h3"])).toEqual(["h2"]);
        expect(s.schedulesForHosts(["h3", "h1"]).map((x) => x.id)).toEqual(["s_a", "s_b", "s_c"]);
        expect(s.schedulesForHosts(["h1", "h2", "h3"], true).map((x) => x.id)).toEqual(["s_a", "s_c"]);
        s.bumpScheduleVersions(["h1", "h3", "hx"]);
        s.bumpScheduleVersions([]);
        expect(s.hostsByIds(["h1", "h2", "h3"]).map((h) => h.schedule_version)).toEqual([1, 0, 1]);
      });

      test("a host's policy state is stored and read back; hosts are found by repository and by policy", () => {
        addHost("h1");
        addHost("h2");
        addHost("h3");
        const conflict = {
          priority: 1,
          policies: [
            { id: "pol_1", name: "a", repository_id: "repo_1" },
            { id: "pol_2", name: "b", repository_id: "repo_2" },
          ],
        };
        s.setHostPolicyState("h1", {
          policy_repository_id: "repo_1",
          repository_policy_id: "pol_1",
          policy_conflict: null,
        });
        s.setHostPolicyState("h2", {
          policy_repository_id: null,
          repository_policy_id: null,
          policy_conflict: conflict,
        });
        s.insertSchedule(
          blankSchedule({
            id: "sch_c",
            host_id: "h3",
            kind: "backup",
            cron_expr: "0 2 * * *",
            paths: ["/srv"],
            created_at: t(0),
            policy_id: "pol_1",
            policy_schedule_id: "pol_1_s1",
          }),
        );
        expect(s.hostById("h1")).toMatchObject({ policy_repository_id: "repo_1", repository_policy_id: "pol_1" });
        expect(s.hostById("h2")?.policy_conflict).toEqual(conflict);
        expect(s.scheduleById("sch_c")).toMatchObject({ policy_id: "pol_1", policy_schedule_id: "pol_1_s1" });
        expect(s.hostsWithPolicyRepository("repo_1")).toEqual(["h1"]);
        expect(s.hostsOfPolicy("pol_1")).toEqual(["h1", "h2", "h3"]);
        expect(s.hostsOfPolicy("pol_2")).toEqual(["h2"]);
        expect(s.hostsOfPolicy("pol_9")).toEqual([]);
      });
    });

    describe("transactions", () => {
      test("tx commits fn's writes and returns its value", () => {
        const value = s.tx(() => {
          addHost("h1");
          s.insertAudit(auditEntry("host.enroll", t(0)));
          return 42;
        });
        expect(value).toBe(42);
        expect(s.hostById("h1")).not.toBeNull();
        expect(s.listAudit(10, null)).toHaveLength(1);
      });

      test("a throw inside tx undoes every write and reaches the caller", () => {
        addHost("h0");
        expect(() =>
          s.tx(() => {
            addHost("h1");
            s.renameHost("h0", "renamed");
            s.insertAudit(auditEntry("host.enroll", t(0)));
            throw new Error("boom");
          }),
        ).toThrow("boom");
        expect(s.hostById("h1")).toBeNull();
        expect(s.hostById("h0")?.name).toBe("h0");
        expect(s.listAudit(10, null)).toEqual([]);
        expect(s.inTransaction()).toBe(false);
      });

      test("a nested tx that throws undoes only its own writes; the outer one commits", () => {
        s.tx(() => {
          addHost("h1");
          expect(() =>
            s.tx(() => {
              addHost("h2");
              s.renameHost("h1", "inner");
              throw new Error("inner");
            }),
          ).toThrow("inner");
          expect(s.inTransaction()).toBe(true);
          expect(s.hostById("h2")).toBeNull();
          s.insertAudit(auditEntry("after", t(1)));
        });
        expect(s.hostById("h1")?.name).toBe("h1");
        expect(s.hostById("h2")).toBeNull();
        expect(s.listAudit(10, null).map((e) => e.action)).toEqual(["after"]);
      });

      test("a nested tx that completes commits with the outer one, and is undone by an outer throw", () => {
        s.tx(() => {
          s.tx(() => addHost("h1"));
          addHost("h2");
        });
        expect(s.listHosts().map((h) => h.id)).toEqual(["h1", "h2"]);
        expect(() =>
          s.tx(() => {
            s.tx(() => addHost("h3"));
            throw new Error("outer");
          }),
        ).toThrow("outer");
        expect(s.hostById("h3")).toBeNull();
      });

      test("inTransaction is true inside tx, nested or not, and false outside", () => {
        expect(s.inTransaction()).toBe(false);
        const seen = s.tx(() => [s.inTransaction(), s.tx(() => s.inTransaction())]);
        expect(seen).toEqual([true, true]);
        expect(s.inTransaction()).toBe(false);
      });
    });

    test("check and integrityCheck return ok for a healthy store", () => {
      expect(s.check()).toBe("ok");
      expect(s.integrityCheck()).toBe("ok");
    });
  });
}
