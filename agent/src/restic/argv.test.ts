import { describe, expect, test } from "bun:test";
import type { CommandRunPayload } from "../../../protocol/index.ts";
import { buildPlan, type GlobalFlags, initArgv, repoProbeArgv, snapshotsArgv } from "./argv.ts";
import { escapeGlob } from "./validate.ts";

const v014: GlobalFlags = { features: { retryLock: false }, retryLock: "1m", platform: "linux", host: "web-a" };
const v018: GlobalFlags = { features: { retryLock: true }, retryLock: "1m", platform: "linux", host: "web-a" };

function plan(cmd: CommandRunPayload, g = v014) {
  const r = buildPlan(cmd, g);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

function refused(cmd: CommandRunPayload, g = v014): string {
  const r = buildPlan(cmd, g);
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r.value.steps)}`);
  return r.error;
}

describe("argv builders", () => {
  test("backup: excludes and tags in --flag=VALUE form, paths after --", () => {
    const p = plan({
      job_id: "j",
      kind: "backup",
      spec: { paths: ["/data", "/-weird"], excludes: ["*.tmp", "-rf"], tags: ["daily"] },
    });
    expect(p.steps).toEqual([
      ["backup", "--json", "--host=web-a", "--exclude=*.tmp", "--exclude=-rf", "--tag=daily", "--", "/data", "/-weird"],
    ]);
    expect(p.backup?.paths).toEqual(["/data", "/-weird"]);
  });

  test("backup: args are the paths when the spec has none", () => {
    expect(plan({ job_id: "j", kind: "backup", args: ["/srv"] }).steps[0]).toEqual([
      "backup",
      "--json",
      "--host=web-a",
      "--",
      "/srv",
    ]);
  });

  test("backup: --retry-lock only where restic has it (>= 0.16)", () => {
    const cmd: CommandRunPayload = { job_id: "j", kind: "backup", args: ["/srv"] };
    expect(plan(cmd, v018).steps[0]).toEqual(["backup", "--json", "--retry-lock=1m", "--host=web-a", "--", "/srv"]);
    expect(plan(cmd, { ...v018, retryLock: null }).steps[0]).toEqual([
      "backup",
      "--json",
      "--host=web-a",
      "--",
      "/srv",
    ]);
  });

  test("backup: hooks are carried to the plan", () => {
    const p = plan({
      job_id: "j",
      kind: "backup",
      spec: { paths: ["/a"], pre_hook: "echo pre", post_hook: "echo post" },
    });
    expect(p.preHook).toBe("echo pre");
    expect(p.postHook).toBe("echo post");
  });

  test("backup: flag injection and bad values are refused", () => {
    expect(refused({ job_id: "j", kind: "backup", spec: { paths: ["/a"], tags: ["--password=x"] } })).toContain(
      "must not start with '-'",
    );
    expect(refused({ job_id: "j", kind: "backup", spec: { paths: ["/a"], tags: ["a,b"] } })).toContain("','");
    expect(refused({ job_id: "j", kind: "backup", args: ["--files-from=/etc/shadow"] })).toContain("absolute path");
    expect(refused({ job_id: "j", kind: "backup", args: ["relative/dir"] })).toContain("absolute path");
    expect(refused({ job_id: "j", kind: "backup", args: ["/a\nb"] })).toContain("control character");
    expect(refused({ job_id: "j", kind: "backup", spec: { paths: ["/a"], excludes: [""] } })).toContain("empty");
    expect(refused({ job_id: "j", kind: "backup" })).toContain("at least one path");
  });

  test("init, prune, unlock", () => {
    expect(plan({ job_id: "j", kind: "init" }, v018).steps).toEqual([["init", "--json"]]);
    expect(plan({ job_id: "j", kind: "prune" }, v018).steps).toEqual([["prune", "--json", "--retry-lock=1m"]]);
    // unlock takes no lock, so it never waits for one
    expect(plan({ job_id: "j", kind: "unlock" }, v018).steps).toEqual([["unlock", "--json"]]);
  });

  test("auto_init's probe and init: no lock, no --retry-lock (nothing to wait for)", () => {
    expect(repoProbeArgv(v018)).toEqual(["cat", "config", "--json", "--no-lock"]);
    expect(initArgv(v018)).toEqual(["init", "--json"]);
  });

  test("forget: policy flags, prune as a separate step", () => {
    const p = plan({
      job_id: "j",
      kind: "forget",
      spec: {
        policy: { keep_last: 3, keep_daily: 7, keep_hourly: 0, keep_within: "1y2m", keep_tags: ["keep"] },
        prune: true,
      },
    });
    expect(p.steps).toEqual([
      [
        "forget",
        "--json",
        "--host=web-a",
        "--group-by=host,paths",
        "--keep-last=3",
        "--keep-daily=7",
        "--keep-within=1y2m",
        "--keep-tag=keep",
      ],
      ["prune", "--json"],
    ]);
    expect(plan({ job_id: "j", kind: "forget", spec: { policy: { keep_last: 1 } } }).steps).toHaveLength(1);
  });

  test("forget: an empty policy and injected keep tags are refused", () => {
    expect(refused({ job_id: "j", kind: "forget", spec: { policy: {} } })).toContain("retention policy");
    expect(refused({ job_id: "j", kind: "forget" })).toContain("retention policy");
    expect(refused({ job_id: "j", kind: "forget", spec: { policy: { keep_last: 0 } } })).toContain("retention policy");
    expect(refused({ job_id: "j", kind: "forget", spec: { policy: { keep_tags: ["-x"] } } })).toContain("'-'");
    expect(refused({ job_id: "j", kind: "forget", spec: { policy: { keep_within: "--x" } } })).toContain("keep_within");
  });

  test("check: read_data_subset", () => {
    expect(plan({ job_id: "j", kind: "check" }).steps).toEqual([["check", "--json"]]);
    expect(plan({ job_id: "j", kind: "check", spec: { read_data_subset: "10%" } }).steps).toEqual([
      ["check", "--json", "--read-data-subset=10%"],
    ]);
    expect(refused({ job_id: "j", kind: "check", spec: { read_data_subset: "-1 --x" } })).toContain("read_data_subset");
  });

  test("restore: target, --verify and escaped includes", () => {
    const p = plan({
      job_id: "j",
      kind: "restore",
      spec: { snapshot_id: "latest", target: "/restore", include: ["/data/weird[1].txt", "/data/a*b?"] },
    });
    expect(p.steps).toEqual([
      [
        "restore",
        "latest",
        "--json",
        "--host=web-a",
        "--target=/restore",
        "--verify",
        "--include=/data/weird\\[1\\].txt",
        "--include=/data/a\\*b\\?",
      ],
    ]);
  });

  test("restore: --verify unless the spec says verify: false", () => {
    const spec = { snapshot_id: "latest", target: "/r" };
    expect(plan({ job_id: "j", kind: "restore", spec: { ...spec, verify: true } }).steps[0]).toContain("--verify");
    const off = plan({ job_id: "j", kind: "restore", spec: { ...spec, verify: false } });
    expect(off.steps[0]).toEqual(["restore", "latest", "--json", "--host=web-a", "--target=/r"]);
  });

  test("restore: latest is this host's own unless a source host is named", () => {
    const spec = { snapshot_id: "latest", target: "/r" };
    expect(plan({ job_id: "j", kind: "restore", spec }).steps[0]).toContain("--host=web-a");
    const other = plan({ job_id: "j", kind: "restore", spec: { ...spec, source_host: "web-b" } });
    expect(other.steps[0]).toContain("--host=web-b");
    expect(other.steps[0]).not.toContain("--host=web-a");
    expect(other.restoreOf).toBeUndefined();
  });

  test("restore by id: looked up first, and only this host's (or the named source's) snapshot is accepted", () => {
    const spec = { snapshot_id: "0123abcd", target: "/r" };
    const own = plan({ job_id: "j", kind: "restore", spec });
    // restic ignores --host for an explicit id, so the builder leaves it out and the job checks
    expect(own.steps[0]?.some((a) => a.startsWith("--host"))).toBe(false);
    expect(own.restoreOf).toEqual({ snapshotId: "0123abcd", hosts: ["web-a"], spec });
    const legacy = plan({ job_id: "j", kind: "restore", spec }, { ...v014, machineHost: "box" });
    expect(legacy.restoreOf?.hosts).toEqual(["web-a", "box"]);
    const other = plan({ job_id: "j", kind: "restore", spec: { ...spec, source_host: "web-b" } }, v014);
    expect(other.restoreOf?.hosts).toEqual(["web-b"]);
  });

  test("every command that writes or selects snapshots carries --host; repository-wide ones do not", () => {
    const scoped: CommandRunPayload[] = [
      { job_id: "j", kind: "backup", args: ["/a"] },
      { job_id: "j", kind: "forget", spec: { policy: { keep_last: 1 } } },
      { job_id: "j", kind: "restore", spec: { snapshot_id: "latest", target: "/r" } },
    ];
    for (const cmd of scoped) expect(plan(cmd).steps[0]).toContain("--host=web-a");
    const wide: CommandRunPayload[] = [
      { job_id: "j", kind: "prune" },
      { job_id: "j", kind: "check" },
      { job_id: "j", kind: "init" },
      { job_id: "j", kind: "unlock" },
    ];
    for (const cmd of wide) expect(plan(cmd).steps[0]?.some((a) => a.startsWith("--host"))).toBe(false);
    expect(snapshotsArgv("web-a")).toEqual(["snapshots", "--json", "--no-lock", "--host=web-a"]);
  });

  test("a host name restic could misread is refused", () => {
    for (const host of ["", "-x", "a,b", "a\nb"]) {
      expect(refused({ job_id: "j", kind: "backup", args: ["/a"] }, { ...v014, host })).toContain("restic host name");
    }
  });

  test("restore: bad snapshot ids, relative targets and a missing spec are refused", () => {
    const base = { job_id: "j", kind: "restore" as const };
    expect(refused({ ...base, spec: { snapshot_id: "--no-lock", target: "/r" } })).toContain("snapshot_id");
    expect(refused({ ...base, spec: { snapshot_id: "latest", target: "-r" } })).toContain("absolute path");
    expect(refused({ ...base })).toContain("spec");
  });
});

describe("escapeGlob", () => {
  test("escapes * ? [ ] \\ with a backslash on Unix", () => {
    expect(escapeGlob("/d/weird[1].txt", "linux")).toBe("/d/weird\\[1\\].txt");
    expect(escapeGlob("/d/a\\b*?", "linux")).toBe("/d/a\\\\b\\*\\?");
    expect(escapeGlob("/plain/path.txt", "linux")).toBe("/plain/path.txt");
  });

  test("uses one-character classes on Windows, where '\\' is the separator", () => {
    expect(escapeGlob("C:\\data\\weird[1].txt", "win32")).toBe("C:\\data\\weird[[]1].txt");
  });

  test("a leading '!' is not read as negation", () => {
    expect(escapeGlob("!important", "linux")).toBe("[!]important");
  });
});
