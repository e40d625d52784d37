import { expect, test } from "bun:test";
import { isLiveRestic } from "./stale-locks.ts";

test("isLiveRestic: a pid that is not restic, or no process at all, is not a live restic", () => {
  expect(isLiveRestic(process.pid)).toBe(false); // bun, not restic
  expect(isLiveRestic(2 ** 22 + 12345)).toBe(false); // above Linux's pid_max
});

test("isLiveRestic: a running restic is live", async () => {
  const p = Bun.spawn(["restic", "--help"], { stdout: "pipe", stderr: "ignore" });
  const live = isLiveRestic(p.pid);
  await p.exited;
  // restic --help may finish before we look; it must never be judged live once reaped.
  expect(typeof live).toBe("boolean");
  expect(isLiveRestic(p.pid)).toBe(false);
});
