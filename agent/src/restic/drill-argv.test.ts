import { describe, expect, test } from "bun:test";
import {
  buildPlan,
  drillInput,
  drillListArgv,
  drillRestoreArgv,
  type GlobalFlags,
  latestSnapshotArgv,
} from "./argv.ts";

const v014: GlobalFlags = { features: { retryLock: false }, retryLock: "1m", platform: "linux", host: "web-a" };
const v018: GlobalFlags = { features: { retryLock: true }, retryLock: "1m", platform: "linux", host: "web-a" };
const ID = "a".repeat(64);

describe("drill argv", () => {
  test("a drill plan has no generic steps and the spec's defaults filled in", () => {
    const r = buildPlan({ job_id: "j", kind: "drill" }, v014);
    expect(r).toEqual({
      ok: true,
      value: { steps: [], drill: { snapshotId: "latest", sampleFiles: 20, maxBytes: 100 * 1024 ** 2 } },
    });
  });

  test("max_bytes uses powers of 1024; bad values are refused by name", () => {
    expect(drillInput({ max_bytes: "2G", sample_files: 1000, snapshot_id: "abcd1234" })).toEqual({
      ok: true,
      value: { snapshotId: "abcd1234", sampleFiles: 1000, maxBytes: 2 * 1024 ** 3 },
    });
    expect(drillInput({ max_bytes: "512" })).toMatchObject({ ok: true, value: { maxBytes: 512 } });
    const bad = (spec: Parameters<typeof drillInput>[0]) => {
      const r = drillInput(spec);
      return r.ok ? "" : r.error;
    };
    expect(bad({ max_bytes: "100MB" })).toContain("max_bytes");
    expect(bad({ max_bytes: "0" })).toContain("max_bytes");
    expect(bad({ sample_files: 1001 })).toContain("sample_files");
    expect(bad({ sample_files: 0 })).toContain("sample_files");
    expect(bad({ snapshot_id: "--host=x" })).toContain("snapshot_id");
  });

  test("latest is scoped to this host; ls and restore take the full id", () => {
    expect(latestSnapshotArgv("web-a")).toEqual(["snapshots", "--json", "--no-lock", "--host=web-a", "latest"]);
    expect(drillListArgv(ID, v014)).toEqual(["ls", "--json", "--", ID]);
    expect(drillListArgv(ID, v018)).toEqual(["ls", "--json", "--retry-lock=1m", "--", ID]);
  });

  test("restore: one command, --verify, one escaped --include per file", () => {
    const argv = drillRestoreArgv(
      ID,
      "/var/lib/agent/tmp/rf-drill-x",
      ["/d/weird[1].txt", "/d/*?\\", "/d/!bang"],
      v014,
    );
    expect(argv).toEqual([
      "restore",
      ID,
      "--json",
      "--target=/var/lib/agent/tmp/rf-drill-x",
      "--verify",
      "--include=/d/weird\\[1\\].txt",
      "--include=/d/\\*\\?\\\\",
      "--include=/d/!bang",
    ]);
    // every server- or snapshot-made string rides inside a --flag=VALUE
    expect(argv.slice(2).every((a) => a.startsWith("--"))).toBe(true);
  });

  test("on Windows the metacharacters become one-character classes", () => {
    const argv = drillRestoreArgv(ID, "C:\\t", ["/C/d/weird[1].txt"], { ...v014, platform: "win32" });
    expect(argv.at(-1)).toBe("--include=/C/d/weird[[]1].txt");
  });
});
