import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Recorder } from "../testing/fake-spawn.ts";
import {
  INT_TIMEOUT,
  PASSWORD,
  type Real,
  randomTree,
  realSupervisor,
  resticOn,
  type Sandbox,
  sameBytes,
  sandbox,
} from "../testing/int-helpers.ts";
import type { RepoConfig } from "./types.ts";

/**
 * Copy jobs (protocol 9, 3-2-1) with the real restic, on 0.14 and 0.18 (RF_TEST_RESTIC): two
 * hosts share the main repository, web-a's snapshots are copied to a second local repository
 * with its own password, restored from there byte for byte, and kept there by the target's own
 * retention. web-b's snapshots are never copied.
 */

const TARGET_PASSWORD = "second copy, other password";
let sb: Sandbox;
let a: Real;
let b: Real;
let src: string;
let targetUrl: string;
let n = 0;

function withTarget(url: string, password: string, extra: { auto_init?: boolean } = {}) {
  const base = a.repo.value as RepoConfig;
  a.repo.value = {
    repo_url: base.repo_url,
    repo_password: base.repo_password,
    copy_targets: [{ id: "repo_offsite", repo_url: url, repo_password: password, ...extra }],
  };
}

const onTarget = (args: string[], url = targetUrl, password = TARGET_PASSWORD) =>
  resticOn({ repo: url, password, scratch: sb.tmp, cache: sb.cache }, args);

async function snapshotsOn(url: string, password: string, host?: string) {
  const out = await onTarget(["snapshots", "--json", "--no-lock", ...(host ? [`--host=${host}`] : [])], url, password);
  expect(out.code).toBe(0);
  return JSON.parse(out.stdout) as Array<{ id: string; hostname: string; time: string }>;
}

async function backup(real: Real) {
  const done = await real.run({ job_id: `b-${++n}`, kind: "backup", args: [src] });
  expect(done.status).toBe("succeeded");
}

const copy = (spec: { target_id: string; policy?: { keep_last?: number }; prune?: boolean }) =>
  a.run({ job_id: `copy-${++n}`, kind: "copy", spec });

beforeAll(async () => {
  sb = await sandbox({ init: true });
  src = join(sb.data, "srv");
  await randomTree(src, 300_000, 3);
  await writeFile(join(src, "weird name [1].txt"), "brackets\n");
  a = realSupervisor(sb, { resticHost: "web-a", machineHostname: "web-a" });
  b = realSupervisor(sb, { resticHost: "web-b", machineHostname: "web-b" });
  await backup(a);
  await backup(b);
  targetUrl = join(sb.root, "offsite");
  withTarget(targetUrl, TARGET_PASSWORD, { auto_init: true });
}, 60_000);
afterAll(() => sb?.cleanup());

test(
  "copy initialises the target (auto_init), copies only this host's snapshots, and restores byte for byte",
  async () => {
    const done = await copy({ target_id: "repo_offsite" });
    expect(done.error).toBeUndefined();
    expect(done.status).toBe("succeeded");
    const onTargetList = await snapshotsOn(targetUrl, TARGET_PASSWORD);
    // web-b shares the source repository; none of its snapshots crossed.
    expect(onTargetList.map((s) => s.hostname)).toEqual(["web-a"]);
    const stats = (done.stats as { copy: Record<string, unknown> }).copy;
    expect(stats.target_id).toBe("repo_offsite");
    expect(stats.snapshot_count).toBe(1);
    expect(stats.latest_snapshot_id).toBe(onTargetList[0]?.id);
    // The copy keeps the snapshot's time: the newest copy is as old as the backup it copies.
    expect(stats.latest_snapshot_time).toBe(new Date(onTargetList[0]?.time as string).toISOString());

    const restored = join(sb.root, "restored");
    const out = await onTarget(["restore", "latest", "--host=web-a", `--target=${restored}`]);
    expect(out.code).toBe(0);
    const names = (await readdir(src)).sort();
    expect((await readdir(join(restored, src))).sort()).toEqual(names);
    for (const name of names) expect(await sameBytes(join(src, name), join(restored, src, name))).toBe(true);
    await rm(restored, { recursive: true, force: true });

    // A second copy with nothing new copies nothing again.
    const again = await copy({ target_id: "repo_offsite" });
    expect(again.status).toBe("succeeded");
    expect((await snapshotsOn(targetUrl, TARGET_PASSWORD)).length).toBe(1);
    // The job's log shows the command, and no password anywhere in it.
    const log = a.rec.logLines.map((l) => l.payload).join("\n");
    expect(log).toContain("copy --json");
    expect(log).not.toContain(TARGET_PASSWORD);
    expect(log).not.toContain(PASSWORD);
  },
  INT_TIMEOUT * 3,
);

test(
  "the target's own retention: forget --host on the target after the copy",
  async () => {
    await backup(a);
    await backup(a);
    await backup(b);
    const done = await copy({ target_id: "repo_offsite", policy: { keep_last: 2 }, prune: true });
    expect(done.error).toBeUndefined();
    expect(done.status).toBe("succeeded");
    const left = await snapshotsOn(targetUrl, TARGET_PASSWORD);
    expect(left.length).toBe(2);
    expect(left.every((s) => s.hostname === "web-a")).toBe(true);
    expect((done.stats as { copy: { snapshot_count: number } }).copy.snapshot_count).toBe(2);
    // The source keeps all of them: retention on the target is the target's own.
    expect((await snapshotsOn(sb.repoUrl, PASSWORD, "web-a")).length).toBe(3);
  },
  INT_TIMEOUT * 3,
);

test(
  "a wrong target password fails clearly, naming the target, without the password",
  async () => {
    const wrong = "not the target password";
    withTarget(targetUrl, wrong);
    try {
      const done = await copy({ target_id: "repo_offsite" });
      expect(done.status).toBe("failed");
      expect(done.failure_reason).toBe("wrong_password");
      expect(done.error).toContain("copy target repo_offsite: its password is wrong");
      expect(done.error).not.toContain(wrong);
      expect(JSON.stringify(a.rec.events)).not.toContain(wrong);
    } finally {
      withTarget(targetUrl, TARGET_PASSWORD);
    }
  },
  INT_TIMEOUT,
);

test(
  "a wrong password of the host's own repository fails naming the source, not the target",
  async () => {
    const held = a.repo.value as RepoConfig;
    a.repo.value = { ...held, repo_password: "not the main password" };
    try {
      const done = await copy({ target_id: "repo_offsite" });
      expect(done.status).toBe("failed");
      expect(done.failure_reason).toBe("wrong_password");
      expect(done.error).toContain("the host's own repository (the copy's source) did not open");
      expect(done.error).not.toContain("not the main password");
    } finally {
      a.repo.value = held;
    }
  },
  INT_TIMEOUT,
);

test(
  "a missing target without auto_init, and a target the host holds no settings for, fail naming it",
  async () => {
    const missing = join(sb.root, "nowhere");
    withTarget(missing, TARGET_PASSWORD);
    try {
      const done = await copy({ target_id: "repo_offsite" });
      expect(done.status).toBe("failed");
      expect(done.error).toContain("it does not exist: initialise it, or set auto_init");
      const unknown = await copy({ target_id: "repo_other" });
      expect(unknown.status).toBe("failed");
      expect(unknown.failure_reason).toBe("target_missing");
      expect(unknown.error).toContain("copy target repo_other is not usable on this host");
    } finally {
      withTarget(targetUrl, TARGET_PASSWORD);
    }
  },
  INT_TIMEOUT,
);

test(
  "a cancelled copy leaves no lock behind, on the target or on the source",
  async () => {
    const big = join(sb.data, "big");
    await randomTree(big, 150 * 1024 * 1024, 3);
    const done = await a.run({ job_id: `b-${++n}`, kind: "backup", args: [big] });
    expect(done.status).toBe("succeeded");
    await rm(big, { recursive: true, force: true });
    // A supervisor of its own, whose log tells the moment restic copy has started.
    let copyStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      copyStarted = resolve;
    });
    const rec = new Recorder();
    const c = realSupervisor(sb, {
      resticHost: "web-a",
      machineHostname: "web-a",
      logBatchMs: 1,
      emit: (type, payload) => {
        rec.emit(type, payload);
        if (type === "job.log" && JSON.stringify(payload).includes("copy --json")) copyStarted();
      },
    });
    c.repo.value = a.repo.value;
    const jobId = `copy-cancel-${++n}`;
    c.sup.enqueue({ job_id: jobId, kind: "copy", spec: { target_id: "repo_offsite" } });
    await started;
    c.sup.cancel(jobId);
    await c.sup.idle();
    const finished = rec.of("job.finished").find((f) => f.job_id === jobId);
    expect(finished?.status).toBe("cancelled");
    expect(rec.logLines.map((l) => l.payload)).toContain("removing the stale lock on the copy's source: restic unlock");
    const locks = async (url: string, password: string) =>
      (await onTarget(["list", "locks", "--no-lock"], url, password)).stdout
        .split("\n")
        .filter((l) => /^[0-9a-f]{64}$/.test(l));
    expect(await locks(targetUrl, TARGET_PASSWORD)).toEqual([]);
    expect(await locks(sb.repoUrl, PASSWORD)).toEqual([]);
  },
  INT_TIMEOUT * 4,
);
