import { expect, test } from "bun:test";
import type { LogLine } from "../../../protocol/index.ts";
import { FakeClock } from "../testing/fake-clock.ts";
import { LogBatcher, MAX_BATCH_BYTES } from "./log-batcher.ts";
import { fitSnapshots, MAX_REPORT_BYTES } from "./reports.ts";

function batcher() {
  const frames: LogLine[][] = [];
  const b = new LogBatcher({
    jobId: "j",
    clock: new FakeClock(),
    emit: ((type: string, payload: { lines: LogLine[] }) => {
      if (type === "job.log") frames.push(payload.lines);
    }) as never,
    batchMs: 500,
    redact: (s) => s,
  });
  return { b, frames };
}

test("long lines are cut into frames by size, so no frame can pass the 1 MiB limit", () => {
  const { b, frames } = batcher();
  // 400 lines of 16 KiB of control characters: 6 JSON bytes each, far beyond 1 MiB in one frame.
  for (let i = 0; i < 400; i++) b.add("stdout", "\u0001".repeat(16 * 1024));
  b.flush();
  expect(frames.length).toBeGreaterThan(10);
  for (const f of frames) expect(JSON.stringify({ lines: f }).length).toBeLessThanOrEqual(MAX_BATCH_BYTES + 120_000);
  expect(frames.flat().map((l) => l.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
});

test("fitSnapshots keeps the newest snapshots that fit one report", () => {
  const snap = (i: number) => ({
    time: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
    pad: "x".repeat(300),
  });
  const list = Array.from({ length: 5000 }, (_, i) => snap(i));
  const { snapshots, dropped } = fitSnapshots(list);
  expect(dropped).toBeGreaterThan(0);
  expect(snapshots.length + dropped).toBe(5000);
  expect(JSON.stringify(snapshots).length).toBeLessThanOrEqual(MAX_REPORT_BYTES + 2);
  expect(snapshots.at(-1)?.time).toBe(snap(4999).time);
  expect(fitSnapshots([snap(1)]).dropped).toBe(0);
});
