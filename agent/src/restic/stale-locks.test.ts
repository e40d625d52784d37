import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isLiveRestic } from "./stale-locks.ts";

test("isLiveRestic: a pid that is not restic, or no process at all, is not a live restic", () => {
  expect(isLiveRestic(process.pid)).toBe(false); // bun, not restic
  expect(isLiveRestic(2 ** 22 + 12345)).toBe(false); // above Linux's pid_max
});

test("isLiveRestic: a running program called restic is live, and no longer once it is gone", async () => {
  // A long-lived stand-in whose program name is restic: a shell behind a symlink of that name,
  // which says "ready" once it runs (so the exec is done) and then waits on its stdin.
  const dir = mkdtempSync(join(tmpdir(), "rf-live-"));
  try {
    const fake = join(dir, "restic");
    symlinkSync("/bin/sh", fake);
    const p = Bun.spawn([fake, "-c", "echo ready; read x"], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
    const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    expect(isLiveRestic(p.pid)).toBe(true);
    p.kill("SIGKILL");
    await p.exited;
    expect(isLiveRestic(p.pid)).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
