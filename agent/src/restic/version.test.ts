import { describe, expect, test } from "bun:test";
import { FakeSpawn } from "../testing/fake-spawn.ts";
import { detectResticVersion, featuresOf, parseResticVersion } from "./version.ts";

describe("restic version", () => {
  test("parses `restic version`", () => {
    expect(parseResticVersion("restic 0.14.0 compiled with go1.19.8 on linux/amd64")).toEqual({
      version: "0.14.0",
      major: 0,
      minor: 14,
      patch: 0,
    });
    expect(parseResticVersion("restic 0.16.0-dev (compiled manually)")?.minor).toBe(16);
    expect(parseResticVersion("bash: restic: command not found")).toBeNull();
  });

  test("--retry-lock from 0.16.0 on", () => {
    expect(featuresOf(parseResticVersion("restic 0.14.0")).retryLock).toBe(false);
    expect(featuresOf(parseResticVersion("restic 0.15.2")).retryLock).toBe(false);
    expect(featuresOf(parseResticVersion("restic 0.16.0")).retryLock).toBe(true);
    expect(featuresOf(parseResticVersion("restic 1.0.0")).retryLock).toBe(true);
    expect(featuresOf(null).retryLock).toBe(false);
  });

  test("detectResticVersion runs `<path> version` and never throws", async () => {
    const ok = new FakeSpawn(() => ({ stdout: ["restic 0.18.0 compiled with go1.24.4 on linux/amd64"] }));
    expect((await detectResticVersion("/opt/restic", ok.spawn))?.version).toBe("0.18.0");
    expect(ok.calls[0]?.argv).toEqual(["/opt/restic", "version"]);
    const failing = new FakeSpawn(() => ({ exitCode: 127 }));
    expect(await detectResticVersion("restic", failing.spawn)).toBeNull();
    const missing = new FakeSpawn(() => {
      throw new Error("ENOENT");
    });
    expect(await detectResticVersion("restic", missing.spawn)).toBeNull();
  });
});
