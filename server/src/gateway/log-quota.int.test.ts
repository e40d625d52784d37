import { afterEach, expect, test } from "bun:test";
import { lineCost } from "../domain/log-quota.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// The log flood of issue 13: with a valid agent token, 300 job.log frames grew the database from
// 4 MB to 288 MB. Stored logs now have byte limits per job and per host; past one, lines are
// dropped and the job gets exactly one marker line. Small limits keep the test fast.
const PER_JOB = 64 * 1024;
const PER_HOST = 160 * 1024;

let t: TestServer;
afterEach(async () => {
  await t.close();
});

async function setUp() {
  t = await startTestServer({ settings: { logBytesPerJob: PER_JOB, logBytesPerHost: PER_HOST } });
  const host = await t.enroll();
  const agent = await TestAgent.connect(t.url, host.agent_token);
  await agent.hello();
  const newJob = async () => {
    const res = await t.json(`/api/v1/hosts/${host.host_id}/jobs`, { method: "POST", body: { kind: "check" } });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  return { agent, newJob };
}

type Line = { seq: number; stream: string; payload: string };

/** Every stored line of a job, through the API's pages. */
async function storedLines(jobId: string): Promise<Line[]> {
  const all: Line[] = [];
  let after = 0;
  for (;;) {
    const page = await t.json(`/api/v1/jobs/${jobId}/logs?after_seq=${after}&limit=5000`);
    expect(page.status).toBe(200);
    all.push(...page.body.items);
    if (!page.body.next_cursor) return all;
    after = Number(page.body.next_cursor);
  }
}

/** Sends `frames` job.log frames of `perFrame` lines of `size` bytes each, numbered on from `from`; all acked. */
async function flood(agent: TestAgent, jobId: string, frames: number, perFrame: number, size: number, from = 1) {
  const ids: string[] = [];
  let seq = from;
  for (let f = 0; f < frames; f++) {
    const lines = Array.from({ length: perFrame }, () => ({
      job_id: jobId,
      seq: seq++,
      ts: "2026-12-01T12:00:00Z",
      stream: "stdout" as const,
      payload: `${seq}:`.padEnd(size, "x"),
    }));
    ids.push(agent.send("job.log", { lines }));
  }
  await agent.acked(...ids);
  return seq;
}

const markers = (lines: Line[]) => lines.filter((l) => l.payload.startsWith("log limit reached"));
const cost = (lines: Line[]) => lines.reduce((n, l) => n + lineCost(Buffer.byteLength(l.payload)), 0);

test("a job's log stops at its byte limit: later lines are dropped, with exactly one marker line", async () => {
  const { agent, newJob } = await setUp();
  const jobId = await newJob();
  // 300 lines of 500 bytes: 150 KB of text, twice the job's limit.
  const next = await flood(agent, jobId, 30, 10, 500);
  let lines = await storedLines(jobId);
  const kept = lines.filter((l) => l.stream === "stdout");
  expect(cost(kept)).toBeLessThanOrEqual(PER_JOB);
  expect(kept.length).toBeGreaterThan(0);
  expect(kept.length).toBeLessThan(300);
  const [marker, ...more] = markers(lines);
  expect(more).toEqual([]);
  expect(marker).toMatchObject({ stream: "event", seq: kept.length + 1 });
  expect(marker?.payload).toContain(`${PER_JOB} bytes (RF_LOG_BYTES_PER_JOB); later lines dropped`);
  // Frames after the limit store nothing, not even a second marker; the agent sees no error.
  await flood(agent, jobId, 5, 10, 500, next);
  lines = await storedLines(jobId);
  expect(lines.length).toBe(kept.length + 1);
  expect(agent.of("error")).toEqual([]);
  agent.close();
});

test("the limit counts a line's size on disk: mid-sized lines cannot store several times the limit", async () => {
  const { agent, newJob } = await setUp();
  const jobId = await newJob();
  // A 1,000-byte line takes a 4 KiB overflow page in SQLite: 4.7 KB each, measured.
  await flood(agent, jobId, 10, 10, 1000);
  const kept = (await storedLines(jobId)).filter((l) => l.stream === "stdout");
  expect(kept.length).toBe(Math.floor(PER_JOB / lineCost(1000)));
  expect(kept.length).toBeLessThan(PER_JOB / 1000 / 4);
  agent.close();
});

test("a host's jobs together stop at the host's limit; each job then gets its one marker", async () => {
  const { agent, newJob } = await setUp();
  const jobs = [await newJob(), await newJob(), await newJob(), await newJob()];
  // Each job is sent more than the job limit; three jobs' worth is more than the host's.
  for (const jobId of jobs) await flood(agent, jobId, 15, 10, 500);
  const stored = await Promise.all(jobs.map(storedLines));
  const kept = stored.map((lines) => lines.filter((l) => l.stream === "stdout"));
  const total = kept.reduce((n, lines) => n + cost(lines), 0);
  expect(total).toBeLessThanOrEqual(PER_HOST);
  expect(total).toBeGreaterThan(PER_HOST - 2 * lineCost(500));
  for (const lines of stored) expect(markers(lines)).toHaveLength(1);
  // The first two hit the job limit; the third the host's; the fourth stores only its marker.
  expect(markers(stored[0] ?? [])[0]?.payload).toContain("RF_LOG_BYTES_PER_JOB");
  expect(markers(stored[2] ?? [])[0]?.payload).toContain(`this host's jobs hold ${PER_HOST} bytes of log`);
  expect(stored[3]).toEqual([expect.objectContaining({ seq: 1, stream: "event" })]);
  agent.close();
});

test("a line re-sent under a new envelope id is stored once and counted once", async () => {
  const { agent, newJob } = await setUp();
  const jobId = await newJob();
  for (let i = 0; i < 200; i++) {
    await agent.acked(
      agent.send("job.log", {
        lines: [{ job_id: jobId, seq: 1, ts: "2026-12-01T12:00:00Z", stream: "stdout", payload: "x".repeat(500) }],
      }),
    );
  }
  // 200 × 628 bytes would be past the limit; one stored line is far below it.
  await flood(agent, jobId, 1, 10, 500, 2);
  const lines = await storedLines(jobId);
  expect(lines.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  agent.close();
});
