import { describe, expect, test } from "bun:test";
import type { CommandRunPayload } from "../../../protocol/index.ts";
import { buildPlan, type GlobalFlags } from "./argv.ts";
import { escapeGlob } from "./validate.ts";

const v014: GlobalFlags = { features: { retryLock: false }, retryLock: "1m", platform: "linux" };
const v018: GlobalFlags = { features: { retryLock: true }, retryLock: "1m", platform: "linux" };

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
      ["backup", "--json", "--exclude=*.tmp", "--exclude=-rf", "--tag=daily", "--", "/data", "/-weird"],
    ]);
    expect(p.backup?.paths).toEqual(["/data", "/-weird"]);
  });

  test("backup: args are the paths when the spec has none", () => {
    expect(plan({ job_id: "j", kind: "backup", args: ["/srv"] }).steps[0]).toEqual(["backup", "--json", "--", "/srv"]);
  });

  test("backup: --retry-lock only where restic has it (>= 0.16)", () => {
    const cmd: CommandRunPayload = { job_id: "j", kind: "backup", args: ["/srv"] };
    expect(plan(cmd, v018).steps[0]).toEqual(["backup", "--json", "--retry-lock=1m", "--", "/srv"]);
    expect(plan(cmd, { ...v018, retryLock: null }).steps[0]).toEqual(["backup", "--json", "--", "/srv"]);
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
      ["forget", "--json", "--keep-last=3", "--keep-daily=7", "--keep-within=1y2m", "--keep-tag=keep"],
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
        "--target=/restore",
        "--verify",
        "--include=/data/weird\\[1\\].txt",
        "--include=/data/a\\*b\\?",
      ],
    ]);
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
