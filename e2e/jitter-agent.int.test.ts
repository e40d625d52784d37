import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { TestHost } from "./host.ts";

// Jitter end to end with the compiled agent (protocol 9) and real restic: a schedule with a jitter
// gets this host's delay from the server; the agent fires each tick only once that delay has
// passed (the server stores the job after nominal + delay), with the nominal tick as scheduled_at,
// and the backup succeeds.
let fleet: Fleet;
let host: TestHost;
let work: string;

beforeAll(async () => {
  work = tempDir("rf-e2e-jitter-");
  mkdirSync(join(work, "data"), { recursive: true });
  writeFileSync(join(work, "data", "a.txt"), "jittered\n");
  fleet = await startFleet();
  host = new TestHost(fleet, work);
  await host.watch();
  await host.enroll();
  await host.start();
  expect((await host.run({ kind: "init" })).status).toBe("succeeded");
});

afterAll(async () => {
  await host?.stop();
  host?.events?.close();
  await fleet?.close();
  rmSync(work, { recursive: true, force: true });
});

interface ScheduleView {
  id: string;
  delay_seconds: number;
  jitter_problem: string | null;
}

test("the agent fires a jittered tick after its delay, naming the nominal tick, and the backup succeeds", async () => {
  // Every 10 s with a jitter of 9 s: remade until this host's delay is not 0, so the test shows one.
  let s: ScheduleView;
  for (;;) {
    const made = await fleet.api<ScheduleView>(`/hosts/${host.hostId}/schedules`, "POST", {
      kind: "backup",
      cron_expr: "*/10 * * * * *",
      jitter: "9s",
      paths: [join(work, "data")],
    });
    expect(made.status).toBe(201);
    s = made.body;
    if (s.delay_seconds > 0) break;
    await fleet.api(`/schedules/${s.id}`, "DELETE");
  }
  expect(s.jitter_problem).toBeNull();
  const events = host.events ?? (await host.watch());
  const from = events.seen.length;
  const created = await events.until(
    (e) => e.type === "job.updated" && e.host_id === host.hostId && e.status === "queued",
    from,
    60_000,
  );
  const jobId = (created as { job_id?: string }).job_id ?? "";
  const job = (await host.finished(jobId)) as unknown as {
    status: string;
    scheduled_id: string;
    scheduled_at: string;
    created_at: string;
  };
  expect(job.status).toBe("succeeded");
  expect(job.scheduled_id).toBe(s.id);
  // The nominal tick (a multiple of 10 s), and the job made only after tick + delay.
  expect(Date.parse(job.scheduled_at) % 10_000).toBe(0);
  expect(Date.parse(job.created_at)).toBeGreaterThanOrEqual(Date.parse(job.scheduled_at) + s.delay_seconds * 1000);
  await fleet.api(`/schedules/${s.id}`, "PATCH", { enabled: false });
}, 120_000);
