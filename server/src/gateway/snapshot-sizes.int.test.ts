import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// restic 0.14 keeps no summary in a snapshot, and an agent knows the sizes only of the snapshots it
// made since it started: a snapshot reported without a size takes the one its backup job reported.
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const snap = (n: number, size?: number) => ({
  id: n.toString(16).padStart(64, "0"),
  short_id: n.toString(16).padStart(8, "0"),
  time: `2026-11-30T0${n}:00:00Z`,
  hostname: "web-01",
  paths: ["/srv"],
  ...(size === undefined ? {} : { size_bytes: size, file_count: 3 }),
});

test("a snapshot reported without a size gets its backup job's; one no job of the fleet made stays without", async () => {
  const h = await t.enroll("web-01");
  const agent = await TestAgent.connect(t.url, h.agent_token);
  await agent.hello(7, { hostname: "web-01", resticHost: "web-01" });
  const job = await t.json(`/api/v1/hosts/${h.host_id}/jobs`, {
    method: "POST",
    body: { kind: "backup", spec: { paths: ["/srv"] } },
  });
  const jobId = job.body.id;
  await agent.next("command.run");
  const ids = [
    agent.send("command.result", { job_id: jobId, accepted: true }),
    agent.send("job.started", { job_id: jobId, kind: "backup", started_at: "2026-11-30T02:00:00Z" }),
    agent.send("job.finished", {
      job_id: jobId,
      status: "succeeded",
      exit_code: 0,
      finished_at: "2026-11-30T02:00:05Z",
      // restic 0.14's summary names the snapshot by its short id.
      stats: { snapshot_id: "00000002", total_bytes_processed: 123_456, total_files_processed: 42 },
    }),
    // 1: made before this fleet; 2: made by the job above (the agent restarted since); 3: known to the agent.
    agent.send("snapshots.report", { snapshots: [snap(1), snap(2), snap(3, 999)] }),
  ];
  await agent.acked(...ids);
  const list = await t.json(`/api/v1/hosts/${h.host_id}/snapshots`);
  const sizes = Object.fromEntries(
    list.body.items.map((s: { short_id: string; size_bytes: number | null; file_count: number | null }) => [
      s.short_id,
      [s.size_bytes, s.file_count],
    ]),
  );
  expect(sizes).toEqual({ "00000001": [null, null], "00000002": [123_456, 42], "00000003": [999, 3] });
  agent.close();
});
