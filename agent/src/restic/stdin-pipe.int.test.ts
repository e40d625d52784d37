import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { realClock } from "../clock.ts";
import { ChildControl } from "./child-control.ts";
import { runProcess } from "./run-process.ts";
import { bunSpawn } from "./spawn.ts";
import { runPiped } from "./stdin-pipe.ts";

// The agent's own pipe from a command into a reader, with real processes: `wc -c` stands in for
// restic (it prints only once its input ends), so "the reader saw an end" is visible. Both ways:
// through a FIFO (Linux) and through the agent's stream (Windows' way, and the fallback).
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function pipe(script: string, fifo: boolean) {
  const dir = await mkdtemp(join(tmpdir(), "rf-stdin-pipe-"));
  dirs.push(dir);
  const control = new ChildControl(realClock, 2000, () => {});
  const out: string[] = [];
  const result = await runPiped({
    spawn: bunSpawn,
    clock: realClock,
    command: ["/bin/sh", "-c", script],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    ...(fifo ? { fifoDir: dir } : {}),
    runRestic: (stdin, onSpawn) =>
      runProcess({
        spawn: bunSpawn,
        argv: ["wc", "-c"],
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        stdin,
        onStdout: (l) => out.push(l.trim()),
        onStderr: () => {},
        onSpawn: (child) => {
          control.attach(child);
          onSpawn(child);
        },
      }),
    attach: (child) => control.attach(child),
    detach: (child) => control.detach(child),
    stop: (child) => control.stop(child),
    onStderr: () => {},
    cancelRequested: () => false,
  });
  return { result, out, left: await readdir(dir) };
}

for (const fifo of [true, false]) {
  describe(fifo ? "through a FIFO" : "through the agent's stream", () => {
    test("every byte arrives, then the end", async () => {
      const { result, out, left } = await pipe("head -c 5000000 /dev/urandom", fifo);
      expect(result.command).toEqual({ started: true, exitCode: 0 });
      expect(result.restic).toEqual({ started: true, exitCode: 0 });
      expect(out).toEqual(["5000000"]);
      expect(left).toEqual([]);
    });

    test("a failed command never lets the reader see an end: it is stopped instead", async () => {
      const { result, out } = await pipe("head -c 3000000 /dev/urandom; echo oops >&2; exit 3", fifo);
      expect(result.command).toEqual({ started: true, exitCode: 3 });
      expect(result.stderrTail).toEqual(["oops"]);
      // SIGINT before any end of input: wc printed no count.
      expect(result.restic?.exitCode).toBe(130);
      expect(out).toEqual([]);
    });
  });
}
