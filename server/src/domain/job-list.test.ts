import { expect, test } from "bun:test";
import { queuedJob } from "./blank-rows.ts";
import { jobListItem } from "./job-list.ts";
import type { Job } from "./types.ts";

// What a list adds to a job (GET /jobs): its host's name, how long it ran and what it added.

const job = (extra: Partial<Job>): Job =>
  queuedJob({
    id: "job_1",
    host_id: "host_1",
    kind: "backup",
    actor_kind: "user",
    created_at: "2026-12-01T10:00:00.000Z",
    ...extra,
  } as Parameters<typeof queuedJob>[0]);

test("duration is the job's own start to finish; restic's total_duration only when those are not known", () => {
  const ran = job({ started_at: "2026-12-01T10:00:05.000Z", finished_at: "2026-12-01T10:01:35.500Z" });
  expect(jobListItem({ ...ran, stats: { total_duration: 80 } }, "web-01").duration_seconds).toBe(90.5);
  expect(jobListItem({ ...job({}), stats: { total_duration: 80 } }, "web-01").duration_seconds).toBe(80);
  expect(jobListItem(job({ started_at: "2026-12-01T10:00:05.000Z" }), "web-01").duration_seconds).toBeNull();
});

test("data added is restic's data_added when it is a number, else null; the host's name is carried", () => {
  expect(jobListItem({ ...job({}), stats: { data_added: 5_245_000 } }, "web-01")).toMatchObject({
    host_name: "web-01",
    data_added: 5_245_000,
  });
  for (const stats of [null, {}, { data_added: "5 MB" }, { data_added: -1 }, ["x"]])
    expect(jobListItem({ ...job({}), stats: stats as Record<string, unknown> | null }, "web-01").data_added).toBeNull();
});
