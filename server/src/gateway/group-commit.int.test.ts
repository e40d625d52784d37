import { afterEach, beforeEach, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Group commit: what arrives in one turn of the event loop is stored in one transaction, and the
// answers to it leave only after that commit.

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  await t.close();
});

async function runningJob() {
  const host = await t.enroll();
  const agent = await TestAgent.connect(t.url, host.agent_token);
  await agent.hello();
  await t.json(`/api/v1/hosts/${host.host_id}/jobs`, { method: "POST", body: { kind: "check" } });
  const jobId = (await agent.next("command.run")).payload.job_id;
  await agent.acked(agent.send("command.result", { job_id: jobId, accepted: true }));
  return { host, agent, jobId };
}

const logFrame = (jobId: string, seq: number) => ({
  lines: [{ job_id: jobId, seq, ts: "2026-11-30T12:00:00Z", stream: "stdout" as const, payload: `line ${seq}` }],
});

const metric = async (name: string) => {
  const text = await (await t.api("/metrics")).text();
  return Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1] ?? Number.NaN);
};

test("a burst of frames is stored in a few transactions, and every ack finds its frame stored", async () => {
  const { agent, jobId } = await runningJob();
  const commitsBefore = await metric("restic_fleet_gateway_commits_total");
  const framesBefore = await metric("restic_fleet_gateway_committed_frames_total");
  const N = 200;
  const ids = Array.from({ length: N }, (_, i) => agent.send("job.log", logFrame(jobId, i + 1)));
  // At each ack, the lines it acks are already in the database.
  const seqOf = new Map(ids.map((id, i) => [id, i + 1]));
  let checked = 0;
  await agent.until(() => {
    for (const ack of agent.of("ack")) {
      for (const id of ack.payload.ids) {
        const seq = seqOf.get(id);
        if (seq === undefined) continue;
        seqOf.delete(id);
        expect([...t.server.store.logsAfter(jobId, seq - 1, 1)][0]?.payload).toBe(`line ${seq}`);
        checked++;
      }
    }
    return checked === N;
  }, "all acks");
  expect([...t.server.store.logsAfter(jobId, 0, 1000)]).toHaveLength(N);
  const commits = (await metric("restic_fleet_gateway_commits_total")) - commitsBefore;
  const frames = (await metric("restic_fleet_gateway_committed_frames_total")) - framesBefore;
  expect(frames).toBe(N);
  // The frames arrived in bursts: far fewer transactions than frames.
  expect(commits).toBeGreaterThan(0);
  expect(commits).toBeLessThan(N / 2);
});

test("a failed commit acks nothing and closes with 1011; the re-sent frames are stored once", async () => {
  const { host, agent, jobId } = await runningJob();
  const store = t.server.store;
  const realTx = store.tx;
  let depth = 0;
  // Fault injection at the store seam: the outermost transaction does all its work, then fails
  // as a full disk would at COMMIT, so SQLite rolls all of it back.
  store.tx = <T>(fn: () => T): T => {
    if (depth > 0) return realTx(fn);
    depth++;
    try {
      return realTx(() => {
        fn();
        throw new Error("disk I/O error (injected)");
      });
    } finally {
      depth--;
    }
  };
  // What UI clients would see: nothing of a batch that was rolled back.
  const seen: string[] = [];
  const unsubscribe = t.server.domain.subscribe((e) => seen.push(e.type));
  const frames = [logFrame(jobId, 1), logFrame(jobId, 2)];
  const ids = frames.map((f) => agent.send("job.log", f));
  try {
    const closed = await agent.waitClosed();
    expect(closed.code).toBe(1011);
    expect(closed.reason).toContain("re-send");
  } finally {
    store.tx = realTx;
  }
  const acked = new Set(agent.of("ack").flatMap((a) => a.payload.ids));
  for (const id of ids) expect(acked.has(id)).toBe(false);
  expect([...store.logsAfter(jobId, 0, 10)]).toHaveLength(0);
  expect(seen.filter((type) => type === "job.log")).toEqual([]);

  // The agent reconnects and re-sends the same envelopes: stored, acked.
  const again = await TestAgent.connect(t.url, host.agent_token);
  await again.hello();
  frames.forEach((f, i) => {
    again.send("job.log", f, ids[i]);
  });
  await again.acked(...ids);
  expect([...store.logsAfter(jobId, 0, 10)].map((l) => l.payload)).toEqual(["line 1", "line 2"]);
  // Once stored, the events leave (after the commit).
  expect(seen.filter((type) => type === "job.log").length).toBeGreaterThan(0);
  unsubscribe();
});

test("a frame that fails alone is refused alone; the rest of its batch is stored", async () => {
  const { agent, jobId } = await runningJob();
  const store = t.server.store;
  const realInsert = store.insertLogs;
  store.insertLogs = (hostId, lines) => {
    if (lines.some((l) => l.seq === 2)) throw new Error("constraint failed (injected)");
    realInsert(hostId, lines);
  };
  const ids = [1, 2, 3].map((seq) => agent.send("job.log", logFrame(jobId, seq)));
  try {
    const err = await agent.until(() => agent.of("error").find((e) => e.payload.ref_id === ids[1]), "error");
    expect(err.payload.code).toBe("internal");
    await agent.acked(ids[0] as string, ids[2] as string);
  } finally {
    store.insertLogs = realInsert;
  }
  expect([...store.logsAfter(jobId, 0, 10)].map((l) => l.seq)).toEqual([1, 3]);
  // Nothing of the failed frame was kept (not even its envelope id): its re-send is stored.
  agent.send("job.log", logFrame(jobId, 2), ids[1]);
  await agent.acked(ids[1] as string);
  expect([...store.logsAfter(jobId, 0, 10)].map((l) => l.seq)).toEqual([1, 2, 3]);
});
