import { afterAll, describe, expect, test } from "bun:test";
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { envelopeOf } from "../../../protocol/index.ts";
import { FakeClock } from "../testing/fake-clock.ts";
import { OUTBOX_FILE, Outbox, type OutboxEnvelope, type OutboxOptions } from "./outbox.ts";

const root = await mkdtemp(join(tmpdir(), "rf-outbox-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `case-${++dirs}`);

const clock = new FakeClock();
const now = () => clock.now();
const TS = "2026-11-30T12:00:00Z";

const logEnv = (job: string, seq: number, payload = `line ${seq}`) =>
  envelopeOf(
    "job.log",
    { lines: [{ job_id: job, seq, ts: TS, stream: "stdout", payload }] },
    { id: `log-${job}-${seq}`, now },
  );
const progressEnv = (job: string, i: number) =>
  envelopeOf(
    "job.progress",
    {
      job_id: job,
      percent_done: i / 100,
      files_done: i,
      total_files: 100,
      bytes_done: i,
      total_bytes: 100,
      eta_seconds: 1,
      throughput_bps: 1,
    },
    { id: `progress-${job}-${i}`, now },
  );
const startedEnv = (job: string) =>
  envelopeOf("job.started", { job_id: job, kind: "backup", started_at: TS }, { id: `started-${job}`, now });
const finishedEnv = (job: string) =>
  envelopeOf(
    "job.finished",
    { job_id: job, status: "succeeded", exit_code: 0, finished_at: TS },
    { id: `finished-${job}`, now },
  );
const resultEnv = (job: string) =>
  envelopeOf("command.result", { job_id: job, accepted: true }, { id: `result-${job}`, now });

function setup(dir: string, extra: Partial<OutboxOptions> = {}) {
  const warnings: string[] = [];
  const timers = new FakeClock();
  const options: OutboxOptions = { clock: timers, log: { warn: (m) => warnings.push(m) }, ...extra };
  return { warnings, clock: timers, open: () => Outbox.open(dir, options) };
}

const ids = (envs: OutboxEnvelope[]) => envs.map((e) => e.id);
const markersOf = (outbox: Outbox) =>
  outbox.pending().flatMap((e) => (e.type === "job.log" ? e.payload.lines.filter((l) => l.stream === "event") : []));

describe("Outbox basics", () => {
  test("push, pending in order, ack removes, depth counts; duplicates and unknown acks are ignored", async () => {
    const { open } = setup(freshDir());
    const outbox = await open();
    await outbox.push(startedEnv("a"));
    await outbox.push(logEnv("a", 1));
    await outbox.push(logEnv("a", 1));
    await outbox.push(finishedEnv("a"));
    expect(ids(outbox.pending())).toEqual(["started-a", "log-a-1", "finished-a"]);
    expect(outbox.depth).toBe(3);
    expect(outbox.ack(["log-a-1", "nope"])).toBe(1);
    expect(ids(outbox.pending())).toEqual(["started-a", "finished-a"]);
    expect(outbox.depth).toBe(2);
    await outbox.close();
    await expect(outbox.push(logEnv("a", 2))).rejects.toThrow("closed");
  });

  test("the file is mode 0600", async () => {
    const dir = freshDir();
    const outbox = await setup(dir).open();
    await outbox.push(resultEnv("a"));
    expect((await stat(join(dir, OUTBOX_FILE))).mode & 0o777).toBe(0o600);
  });

  test("terminal messages are on disk when push resolves, together with what was buffered", async () => {
    const dir = freshDir();
    const { open } = setup(dir);
    const outbox = await open();
    await outbox.push(logEnv("a", 1));
    await outbox.push(finishedEnv("a"));
    // A second instance reads the file as a restarted agent would; no flush() was called.
    const reopened = await open();
    expect(ids(reopened.pending())).toEqual(["log-a-1", "finished-a"]);
    await outbox.push(resultEnv("b"));
    expect(ids((await open()).pending())).toContain("result-b");
  });

  test("a 1000-line log burst is one append, on the flush timer", async () => {
    const dir = freshDir();
    const { open, clock } = setup(dir, { flushIntervalMs: 1000 });
    const outbox = await open();
    for (let i = 0; i < 1000; i++) await outbox.push(logEnv("a", i));
    expect(clock.pending).toBe(1);
    clock.advance(999);
    await outbox.settled();
    expect(outbox.stats.appends).toBe(0);
    expect(await readFile(join(dir, OUTBOX_FILE), "utf8")).toBe("");
    clock.advance(1);
    await outbox.settled();
    expect(outbox.stats).toMatchObject({ appends: 1, compactions: 0 });
    expect((await open()).depth).toBe(1000);
    expect(clock.pending).toBe(0);
  });

  test("an explicit flush persists logs and acks", async () => {
    const dir = freshDir();
    const { open } = setup(dir);
    const outbox = await open();
    for (let i = 0; i < 5; i++) await outbox.push(logEnv("a", i));
    await outbox.flush();
    outbox.ack(["log-a-0", "log-a-3"]);
    await outbox.flush();
    expect(ids((await open()).pending())).toEqual(["log-a-1", "log-a-2", "log-a-4"]);
  });
});

describe("Outbox across restarts", () => {
  test("an ack that lands while its envelope is being written still sticks", async () => {
    const dir = freshDir();
    const { open } = setup(dir);
    const outbox = await open();
    for (let i = 0; i < 3; i++) await outbox.push(logEnv("a", i));
    const writing = outbox.flush();
    // Let the write start (it is chained on a resolved promise), but not finish: file I/O takes longer.
    for (let i = 0; i < 3; i++) await Promise.resolve();
    outbox.ack(["log-a-1"]);
    await writing;
    // The record was in that write, so the ack must be an `rm` record, not a silent skip.
    expect(await readFile(join(dir, OUTBOX_FILE), "utf8")).toContain('"id":"log-a-1"');
    await outbox.flush();
    expect(ids((await open()).pending())).toEqual(["log-a-0", "log-a-2"]);
  });

  test("an id acked and pushed again is pending again, at its new place", async () => {
    const dir = freshDir();
    const { open } = setup(dir);
    const outbox = await open();
    await outbox.push(resultEnv("a"));
    await outbox.push(resultEnv("b"));
    outbox.ack(["result-a"]);
    await outbox.push(resultEnv("a"));
    expect(ids(outbox.pending())).toEqual(["result-b", "result-a"]);
    expect(ids((await open()).pending())).toEqual(["result-b", "result-a"]);
  });

  test("reopen sees the same pending entries in order", async () => {
    const dir = freshDir();
    const { open } = setup(dir);
    const outbox = await open();
    await outbox.push(resultEnv("a"));
    await outbox.push(startedEnv("a"));
    for (let i = 0; i < 3; i++) await outbox.push(logEnv("a", i));
    await outbox.push(progressEnv("a", 50));
    await outbox.push(finishedEnv("a"));
    outbox.ack(["result-a", "log-a-1"]);
    await outbox.close();
    const reopened = await open();
    expect(ids(reopened.pending())).toEqual(ids(outbox.pending()));
    expect(reopened.pending()).toEqual(outbox.pending());
    expect(reopened.bytes).toBe(outbox.bytes);
  });

  test("a torn last line is ignored, reported, and the file is rewritten clean", async () => {
    const dir = freshDir();
    const { open, warnings } = setup(dir);
    const outbox = await open();
    await outbox.push(startedEnv("a"));
    await outbox.push(finishedEnv("a"));
    await appendFile(join(dir, OUTBOX_FILE), '{"n":7,"e":{"type":"job.log","id":"torn","ts":"2026-11-30T1');
    const reopened = await open();
    expect(ids(reopened.pending())).toEqual(["started-a", "finished-a"]);
    expect(warnings.join("\n")).toContain("torn last line");
    const text = await readFile(join(dir, OUTBOX_FILE), "utf8");
    expect(text.endsWith("\n")).toBe(true);
    expect(text).not.toContain("torn");
    // Appends after the repair land on their own line.
    await reopened.push(resultEnv("b"));
    expect(ids((await open()).pending())).toEqual(["started-a", "finished-a", "result-b"]);
  });

  test("an unreadable line in the middle is skipped and reported; the rest survives", async () => {
    const dir = freshDir();
    const { open, warnings } = setup(dir);
    const outbox = await open();
    await outbox.push(resultEnv("a"));
    await appendFile(join(dir, OUTBOX_FILE), '{"n":1,"e":{"type":"hello"}}\nnot json at all\n');
    await outbox.push(resultEnv("b"));
    const reopened = await open();
    expect(ids(reopened.pending())).toEqual(["result-a", "result-b"]);
    expect(warnings.join("\n")).toContain("2 unreadable line(s)");
  });

  test("an empty or missing file opens empty", async () => {
    const dir = freshDir();
    const { open } = setup(dir);
    expect((await open()).depth).toBe(0);
    await writeFile(join(dir, OUTBOX_FILE), "");
    expect((await open()).depth).toBe(0);
  });

  test("acked records are compacted away once they outweigh the live ones", async () => {
    const dir = freshDir();
    const { open } = setup(dir);
    const outbox = await open();
    const big = "x".repeat(5000);
    for (let i = 0; i < 300; i++) await outbox.push(logEnv("a", i, big));
    await outbox.flush();
    outbox.ack(Array.from({ length: 299 }, (_, i) => `log-a-${i}`));
    await outbox.push(resultEnv("a"));
    expect(outbox.stats.compactions).toBe(1);
    const size = (await stat(join(dir, OUTBOX_FILE))).size;
    expect(size).toBe(outbox.bytes);
    expect(ids((await open()).pending())).toEqual(["log-a-299", "result-a"]);
  });
});

describe("Outbox caps", () => {
  test("over max entries: oldest logs go first, ONE marker per job takes their place, terminal ones stay", async () => {
    const dir = freshDir();
    const { open, warnings } = setup(dir, { maxEntries: 20 });
    const outbox = await open();
    await outbox.push(resultEnv("a"));
    await outbox.push(startedEnv("a"));
    for (let i = 0; i < 30; i++) await outbox.push(logEnv("a", i));
    await outbox.push(finishedEnv("a"));

    expect(outbox.depth).toBeLessThanOrEqual(20);
    const pending = outbox.pending();
    expect(ids(pending).slice(0, 2)).toEqual(["result-a", "started-a"]);
    expect(ids(pending).at(-1)).toBe("finished-a");
    const markers = markersOf(outbox);
    expect(markers).toHaveLength(1);
    const marker = markers[0];
    const dropped = Number(/(\d+) log lines dropped: outbox full/.exec(marker?.payload ?? "")?.[1]);
    const kept = pending.filter((e) => e.type === "job.log" && e.payload.lines[0]?.stream === "stdout");
    expect(dropped + kept.length).toBe(30);
    // The marker sits where the first dropped line was, with its seq; the kept lines are the newest.
    expect(pending[2]?.type === "job.log" && pending[2].payload.lines[0]).toEqual(marker);
    expect(marker).toMatchObject({ job_id: "a", seq: 0, stream: "event" });
    expect(kept.map((e) => e.type === "job.log" && e.payload.lines[0]?.seq)).toEqual(
      Array.from({ length: kept.length }, (_, i) => 30 - kept.length + i),
    );
    expect(outbox.stats.droppedLogLines).toBe(dropped);
    expect(warnings.some((w) => w.includes("dropped"))).toBe(true);

    // It all survives a restart, marker included.
    await outbox.flush();
    const reopened = await open();
    expect(reopened.pending()).toEqual(outbox.pending());

    // A second overflow folds into the same single marker, with the total count.
    for (let i = 30; i < 60; i++) await reopened.push(logEnv("a", i));
    const again = markersOf(reopened);
    expect(again).toHaveLength(1);
    const total = Number(/(\d+) log lines/.exec(again[0]?.payload ?? "")?.[1]);
    const keptNow = reopened.pending().filter((e) => e.type === "job.log" && e.payload.lines[0]?.stream === "stdout");
    expect(total + keptNow.length).toBe(60);
    expect(reopened.depth).toBeLessThanOrEqual(20);
    await reopened.flush();
    expect((await open()).pending()).toEqual(reopened.pending());
  });

  test("superseded progress goes before any log line", async () => {
    const { open } = setup(freshDir(), { maxEntries: 10 });
    const outbox = await open();
    for (let i = 0; i < 3; i++) await outbox.push(logEnv("a", i));
    for (let i = 0; i < 8; i++) await outbox.push(progressEnv("a", i));
    // 11 > 10: shrink to 9 by dropping the two oldest progress updates.
    expect(ids(outbox.pending())).toEqual([
      "log-a-0",
      "log-a-1",
      "log-a-2",
      ...Array.from({ length: 6 }, (_, i) => `progress-a-${i + 2}`),
    ]);
    expect(markersOf(outbox)).toEqual([]);
  });

  test("over max bytes: logs are dropped until the bytes fit", async () => {
    const { open } = setup(freshDir(), { maxBytes: 20_000 });
    const outbox = await open();
    await outbox.push(startedEnv("a"));
    for (let i = 0; i < 40; i++) await outbox.push(logEnv("a", i, "y".repeat(1000)));
    expect(outbox.bytes).toBeLessThanOrEqual(20_000);
    expect(ids(outbox.pending())[0]).toBe("started-a");
    expect(markersOf(outbox)).toHaveLength(1);
  });

  test("never drops job.started, job.finished or command.result, even over the cap", async () => {
    const { open, warnings } = setup(freshDir(), { maxEntries: 5 });
    const outbox = await open();
    for (let i = 0; i < 4; i++) {
      await outbox.push(resultEnv(`j${i}`));
      await outbox.push(startedEnv(`j${i}`));
      await outbox.push(finishedEnv(`j${i}`));
    }
    expect(outbox.depth).toBe(12);
    expect(warnings.filter((w) => w.includes("never dropped"))).toHaveLength(1);
  });

  test("markers are per job", async () => {
    const { open } = setup(freshDir(), { maxEntries: 10 });
    const outbox = await open();
    for (let i = 0; i < 6; i++) {
      await outbox.push(logEnv("a", i));
      await outbox.push(logEnv("b", i));
    }
    expect(markersOf(outbox).map((m) => m.job_id)).toEqual(["a", "b"]);
  });
});
