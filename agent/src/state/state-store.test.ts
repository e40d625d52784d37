import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommandRunPayload, ScheduleSetPayload } from "../../../protocol/index.ts";
import type { LastFireState } from "../scheduler-fires.ts";
import { FakeClock } from "../testing/fake-clock.ts";
import { type StateLog, StateStore } from "./state-store.ts";

const root = await mkdtemp(join(tmpdir(), "rf-state-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `case-${++n}`);

function recordingLog() {
  const warnings: Array<{ message: string; fields?: Record<string, unknown> }> = [];
  const log: StateLog = { warn: (message, fields) => warnings.push({ message, fields }) };
  return { log, warnings };
}

const PASSWORD = "correct-horse-battery-staple";
const identity = { server_url: "https://fleet.example.com", host_id: "host-1", agent_token: "tok-abc" };
const schedules: ScheduleSetPayload = {
  version: 7,
  schedules: [
    { id: "s1", kind: "backup", cron_expr: "0 3 * * *", paths: ["/etc"], enabled: true },
    { id: "s2", kind: "check", cron_expr: "0 4 * * 0", enabled: false },
  ],
};
const backupJob: CommandRunPayload = { job_id: "job-1", kind: "backup", args: ["/etc"], spec: { tags: ["nightly"] } };
const forgetJob: CommandRunPayload = { job_id: "job-2", kind: "forget", spec: { policy: { keep_daily: 7 } } };

async function fillStore(dir: string) {
  const { log } = recordingLog();
  const store = await StateStore.open(dir, { log, clock: new FakeClock() });
  await store.setIdentity(identity);
  await store.applyConfigUpdate({ repo_url: "/srv/repo", repo_password: PASSWORD, hook_shell: "/bin/sh" });
  await store.setScheduleSet(schedules);
  await store.setLastFire("s1", "2026-11-30T03:00:00Z");
  await store.acceptJob(backupJob);
  await store.acceptJob(forgetJob);
  await store.setJobState("job-1", "running");
  return store;
}

describe("StateStore", () => {
  test("everything round-trips across a re-open", async () => {
    const dir = freshDir();
    await fillStore(dir);
    const { log, warnings } = recordingLog();
    const store = await StateStore.open(dir, { log });
    expect(store.identity()).toEqual(identity);
    expect(store.config()).toEqual({ repo_url: "/srv/repo", repo_password: PASSWORD, hook_shell: "/bin/sh" });
    expect(store.scheduleSet()).toEqual(schedules);
    expect(store.getLastFire("s1")).toBe("2026-11-30T03:00:00Z");
    expect(store.getLastFire("s2")).toBeUndefined();
    expect(store.getLastFire("constructor")).toBeUndefined();
    expect(store.jobs().map((j) => [j.command.job_id, j.state])).toEqual([
      ["job-1", "running"],
      ["job-2", "accepted"],
    ]);
    expect(store.getJob("job-1")?.command).toEqual(backupJob);
    expect(store.getJob("job-1")?.accepted_at).toBe("2026-11-30T12:00:00.000Z");
    expect(store.problems).toEqual([]);
    expect(warnings).toEqual([]);
    // The store is what the scheduler keeps its last fires in.
    const forScheduler: LastFireState = store;
    expect(forScheduler.getLastFire("s1")).toBe("2026-11-30T03:00:00Z");
  });

  test("removed jobs stay removed; config.update leaves empty fields as they were", async () => {
    const dir = freshDir();
    const store = await fillStore(dir);
    await store.removeJob("job-1");
    const merged = await store.applyConfigUpdate({ repo_url: "s3:bucket", repo_password: "" });
    expect(merged).toEqual({ repo_url: "s3:bucket", repo_password: PASSWORD, hook_shell: "/bin/sh" });
    const again = await StateStore.open(dir, recordingLog());
    expect(again.jobs().map((j) => j.command.job_id)).toEqual(["job-2"]);
    expect(again.config()?.repo_url).toBe("s3:bucket");
  });

  test("config.update keeps auto_init: absent leaves it as is, false switches it off", async () => {
    const dir = freshDir();
    const store = await fillStore(dir);
    expect(store.config()?.auto_init).toBeUndefined();
    await store.applyConfigUpdate({ repo_url: "/srv/new", auto_init: true });
    // A later update without the field (another setting changed) leaves it on.
    const kept = await store.applyConfigUpdate({ hook_shell: "/bin/bash -c" });
    expect(kept).toEqual({
      repo_url: "/srv/new",
      repo_password: PASSWORD,
      hook_shell: "/bin/bash -c",
      auto_init: true,
    });
    expect((await StateStore.open(dir, recordingLog())).config()?.auto_init).toBe(true);
    const off = await store.applyConfigUpdate({ repo_url: "/srv/new", auto_init: false });
    expect(off.auto_init).toBe(false);
    expect((await StateStore.open(dir, recordingLog())).config()?.auto_init).toBe(false);
    // secrets_withheld is a note about one message, never stored.
    expect(await store.applyConfigUpdate({ secrets_withheld: "insecure_link" })).not.toHaveProperty("secrets_withheld");
  });

  test("config.update's repo_env replaces the whole environment, {} clears it, absent keeps it", async () => {
    const dir = freshDir();
    const store = await fillStore(dir);
    await store.applyConfigUpdate({ repo_url: "b2:b:p", repo_env: { B2_ACCOUNT_ID: "1", B2_ACCOUNT_KEY: "k" } });
    const replaced = await store.applyConfigUpdate({ repo_env: { B2_ACCOUNT_ID: "2" } });
    expect(replaced.repo_env).toEqual({ B2_ACCOUNT_ID: "2" });
    expect((await store.applyConfigUpdate({ hook_shell: "/bin/sh" })).repo_env).toEqual({ B2_ACCOUNT_ID: "2" });
    expect((await StateStore.open(dir, recordingLog())).config()?.repo_env).toEqual({ B2_ACCOUNT_ID: "2" });
    expect((await store.applyConfigUpdate({ repo_url: "/srv/r", repo_env: {} })).repo_env).toEqual({});
  });

  test("config.update's copy_targets replace the list; a target sent without secrets keeps the held ones", async () => {
    const dir = freshDir();
    const store = await fillStore(dir);
    const t = { id: "repo_b", repo_url: "/srv/b", repo_password: "pw-b", repo_env: { AWS_ACCESS_KEY_ID: "k" } };
    await store.applyConfigUpdate({ copy_targets: [t, { id: "repo_c", repo_url: "/srv/c", repo_password: "pw-c" }] });
    // An insecure link withholds the secrets: the same targets come without them.
    const withheld = await store.applyConfigUpdate({
      secrets_withheld: "insecure_link",
      copy_targets: [{ id: "repo_b", repo_url: "/srv/b2" }],
    });
    expect(withheld.copy_targets).toEqual([{ ...t, repo_url: "/srv/b2" }]);
    expect((await store.applyConfigUpdate({ hook_shell: "/bin/sh" })).copy_targets?.length).toBe(1);
    expect((await StateStore.open(dir, recordingLog())).config()?.copy_targets?.[0]?.repo_password).toBe("pw-b");
    expect((await store.applyConfigUpdate({ copy_targets: [] })).copy_targets).toEqual([]);
  });

  test("a new schedule set forgets the last fires of removed schedules", async () => {
    const dir = freshDir();
    const store = await fillStore(dir);
    await store.setLastFire("s2", "2026-11-29T04:00:00Z");
    await store.setScheduleSet({
      version: 8,
      schedules: [{ id: "s2", kind: "check", cron_expr: "0 4 * * 0", enabled: true }],
    });
    const again = await StateStore.open(dir, recordingLog());
    expect(again.getLastFire("s1")).toBeUndefined();
    expect(again.getLastFire("s2")).toBe("2026-11-29T04:00:00Z");
  });

  test("every file is mode 0600, the dir 0700, and no temp files remain", async () => {
    const dir = freshDir();
    const store = await fillStore(dir);
    // A burst of writes to one file coalesces; none may leave a temp file.
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => store.setLastFire("s1", `2026-11-30T03:00:${String(i).padStart(2, "0")}Z`)),
    );
    const files = (await readdir(dir)).sort();
    expect(files).toEqual(["config.json", "identity.json", "jobs.json", "last-fire.json", "schedules.json"]);
    for (const file of files) expect((await stat(join(dir, file))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await StateStore.open(dir, recordingLog())).getLastFire("s1")).toBe("2026-11-30T03:00:29Z");
  });

  test("stale temp files from a crash are removed at open", async () => {
    const dir = freshDir();
    await fillStore(dir);
    await writeFile(join(dir, "config.json.tmp-999-1"), '{"repo_pass');
    await StateStore.open(dir, recordingLog());
    expect(await readdir(dir)).not.toContain("config.json.tmp-999-1");
  });

  test.each([
    ["garbage", "config.json", `this is not json ${PASSWORD}`],
    ["truncated JSON", "config.json", `{"repo_url":"/srv/repo","repo_password":"${PASSWORD}`],
    ["wrong shape", "config.json", `{"repo_url":42,"repo_password":"${PASSWORD}"}`],
    ["empty file", "identity.json", ""],
    ["wrong shape", "jobs.json", '{"jobs":[{"command":{"job_id":"j","kind":"dance"},"state":"accepted"}]}'],
    ["an array", "last-fire.json", '["2026-11-30T03:00:00Z"]'],
  ])("%s in %s: moved aside, reported, treated as empty", async (_label, file, content) => {
    const dir = freshDir();
    await fillStore(dir);
    await writeFile(join(dir, file), content);
    const { log, warnings } = recordingLog();
    const store = await StateStore.open(dir, { log, clock: new FakeClock("2026-12-01T08:00:00Z") });

    const movedTo = join(dir, `${file}.corrupt-2026-12-01T08-00-00-000Z`);
    expect(store.problems).toHaveLength(1);
    expect(store.problems[0]).toMatchObject({ file: join(dir, file), reason: "corrupt", movedTo });
    expect(store.problems[0]?.action.length).toBeGreaterThan(10);
    expect(await readFile(movedTo, "utf8")).toBe(content);
    expect(await readdir(dir)).not.toContain(file);

    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain(join(dir, file));
    expect(warnings[0]?.message).toContain(movedTo);
    expect(JSON.stringify(warnings)).not.toContain(PASSWORD);

    // The other files are intact; the bad one reads as empty and can be written again.
    if (file !== "identity.json") expect(store.identity()).toEqual(identity);
    if (file === "config.json") expect(store.config()).toBeUndefined();
    if (file === "jobs.json") expect(store.jobs()).toEqual([]);
    if (file === "last-fire.json") expect(store.getLastFire("s1")).toBeUndefined();
    await store.setIdentity(identity);
    const again = await StateStore.open(dir, recordingLog());
    expect(again.problems).toEqual([]);
  });

  test("a second corrupt copy at the same instant does not overwrite the first", async () => {
    const dir = freshDir();
    const clock = new FakeClock("2026-12-01T08:00:00Z");
    await StateStore.open(dir, recordingLog());
    await writeFile(join(dir, "schedules.json"), "{bad one");
    await StateStore.open(dir, { ...recordingLog(), clock });
    await writeFile(join(dir, "schedules.json"), "{bad two");
    const store = await StateStore.open(dir, { ...recordingLog(), clock });
    expect(store.problems[0]?.movedTo).toBe(join(dir, "schedules.json.corrupt-2026-12-01T08-00-00-000Z-1"));
    expect(await readFile(join(dir, "schedules.json.corrupt-2026-12-01T08-00-00-000Z"), "utf8")).toBe("{bad one");
  });

  test("an empty state dir opens empty, and is created 0700", async () => {
    const dir = join(freshDir(), "state");
    const store = await StateStore.open(dir, recordingLog());
    expect(store.identity()).toBeUndefined();
    expect(store.config()).toBeUndefined();
    expect(store.scheduleSet()).toBeUndefined();
    expect(store.jobs()).toEqual([]);
    expect(store.problems).toEqual([]);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });
});
