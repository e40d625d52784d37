import { afterEach, describe, expect, test } from "bun:test";
import { MAX_LOG_LINES_PER_FRAME } from "../../../protocol/index.ts";
import { type Harness, harness, status } from "../testing/test-harness.ts";

let h: Harness;
afterEach(() => h?.cleanup());

function manualRestic() {
  return harness((argv) => (argv[1] === "version" ? { stdout: ["restic 0.14.0"] } : "manual"), {
    progressIntervalMs: 1000,
    logBatchMs: 500,
  });
}

async function startInit() {
  h.sup.enqueue({ job_id: "j", kind: "init" });
  const call = await h.spawn.waitFor("init");
  await h.rec.waitFor("job.started");
  return call.child;
}

describe("progress", () => {
  test("at most one job.progress per interval, the newest status wins", async () => {
    h = manualRestic();
    const child = await startInit();
    child.out(status(0.1));
    await child.drained();
    expect(h.rec.of("job.progress").map((p) => p.percent_done)).toEqual([0.1]);

    child.out(status(0.2), status(0.3));
    await child.drained();
    h.clock.advance(999);
    expect(h.rec.of("job.progress")).toHaveLength(1);
    h.clock.advance(1);
    expect(h.rec.of("job.progress").map((p) => p.percent_done)).toEqual([0.1, 0.3]);

    // nothing waiting: no timer fires
    h.clock.advance(5000);
    expect(h.rec.of("job.progress")).toHaveLength(2);
    // a status after a quiet period goes out at once
    child.out(status(0.5, 4));
    await child.drained();
    const last = h.rec.of("job.progress").at(-1);
    expect(last).toEqual({
      job_id: "j",
      percent_done: 0.5,
      files_done: 5,
      total_files: 10,
      bytes_done: 500,
      total_bytes: 1000,
      eta_seconds: 4,
      throughput_bps: 125,
    });
    child.exit(0);
    await h.sup.idle();
    // status lines never reach the log
    expect(h.rec.logLines.some((l) => l.payload.includes('"status"'))).toBe(false);
  });

  test("a pending status is dropped when the job ends", async () => {
    h = manualRestic();
    const child = await startInit();
    child.out(status(0.1), status(0.9));
    await child.drained();
    child.exit(0);
    await h.sup.idle();
    h.clock.advance(10_000);
    expect(h.rec.of("job.progress")).toHaveLength(1);
  });
});

describe("log batching", () => {
  test("lines wait for the batch timer, then go in one frame with seq from 1", async () => {
    h = manualRestic();
    const child = await startInit();
    const framesBefore = h.rec.of("job.log").length;
    child.out("created restic repository b9de0d2ac9 at /srv/repo", '{"message_type":"initialized","id":"x"}');
    child.err("some warning");
    await child.drained();
    expect(h.rec.of("job.log")).toHaveLength(framesBefore);
    h.clock.advance(500);
    const frames = h.rec.of("job.log");
    expect(frames).toHaveLength(framesBefore + 1);
    const lines = h.rec.logLines;
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    const output = lines.filter((l) => l.stream !== "event");
    expect(output.map((l) => [l.stream, l.payload])).toEqual([
      ["stdout", "created restic repository b9de0d2ac9 at /srv/repo"],
      ["stdout", '{"message_type":"initialized","id":"x"}'],
      ["stderr", "some warning"],
    ]);
    expect(lines.every((l) => l.job_id === "j" && l.ts === "2026-11-30T12:00:00.000Z")).toBe(true);
    child.exit(0);
    await h.sup.idle();
  });

  test("a flood is cut into full frames, and everything is sent before job.finished", async () => {
    h = manualRestic();
    const child = await startInit();
    const flood = Array.from({ length: 1234 }, (_, i) => `line ${i}`);
    child.out(...flood);
    await child.drained();
    // full frames go out without waiting for the timer
    const sizesBefore = h.rec.of("job.log").map((f) => f.lines.length);
    expect(sizesBefore.filter((n) => n === MAX_LOG_LINES_PER_FRAME)).toHaveLength(2);
    child.exit(0);
    await h.sup.idle();
    const frames = h.rec.of("job.log");
    expect(frames.every((f) => f.lines.length <= MAX_LOG_LINES_PER_FRAME)).toBe(true);
    const lines = h.rec.logLines;
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    expect(lines.filter((l) => l.stream === "stdout").map((l) => l.payload)).toEqual(flood);
    const types = h.rec.types();
    expect(types.lastIndexOf("job.log")).toBe(types.indexOf("job.finished") - 1);
    // no timer is left behind
    expect(h.clock.pending).toBe(0);
  });

  test("restic's JSON error lines are logged readably on stderr", async () => {
    h = manualRestic();
    const child = await startInit();
    child.out('{"message_type":"error","error":{"message":"permission denied"},"during":"archival","item":"/x"}');
    child.err('{"message_type":"exit_error","code":1,"message":"Fatal: boom\\nsecond line"}');
    child.exit(1);
    await h.sup.idle();
    const stderr = h.rec.logLines.filter((l) => l.stream === "stderr").map((l) => l.payload);
    expect(stderr).toEqual(["error (archival /x): permission denied", "Fatal: boom", "second line"]);
    expect(h.rec.of("job.finished")[0]?.error).toContain("Fatal: boom\nsecond line");
  });
});
