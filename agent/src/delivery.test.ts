import { afterAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AgentMessage, envelopeOf } from "../../protocol/index.ts";
import { Delivery } from "./delivery.ts";
import type { Logger } from "./log.ts";
import { Outbox, type OutboxEnvelope } from "./state/outbox.ts";
import type { JobState } from "./state/state-files.ts";
import { FakeClock } from "./testing/fake-clock.ts";

const root = await mkdtemp(join(tmpdir(), "rf-delivery-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let dirs = 0;

const clock = new FakeClock();
const now = () => clock.now();
const TS = "2026-11-30T12:00:00Z";

const started = (job: string) =>
  envelopeOf("job.started", { job_id: job, kind: "backup", started_at: TS }, { id: `started-${job}`, now });
const finished = (job: string) =>
  envelopeOf(
    "job.finished",
    { job_id: job, status: "succeeded", exit_code: 0, finished_at: TS },
    { id: `finished-${job}`, now },
  );
const fire = (n: number): AgentMessage =>
  envelopeOf("schedule.fire", { schedule_id: "s1", scheduled_at: TS }, { id: `fire-${n}`, now });

/** A delivery over a real outbox in a fresh dir, with the job state and the log recorded. */
async function setup(dir = join(root, `case-${++dirs}`)) {
  const outbox = await Outbox.open(dir, { clock, log: { warn() {} } });
  const writes: Array<[string, JobState | "removed"]> = [];
  const state = {
    setJobState: async (jobId: string, s: JobState) => void writes.push([jobId, s]),
    removeJob: async (jobId: string) => void writes.push([jobId, "removed"]),
  };
  const logged: string[] = [];
  const fields: Array<Record<string, unknown> | undefined> = [];
  const waiters: Array<() => void> = [];
  const record = (m: string, f?: Record<string, unknown>) => {
    logged.push(m);
    fields.push(f);
    for (const w of waiters.splice(0)) w();
  };
  const log: Logger = { debug() {}, info() {}, warn: record, error: record };
  /** Resolves once something is logged. */
  const nextLog = () => new Promise<void>((resolve) => waiters.push(resolve));
  const delivery = new Delivery({ outbox, state, log, stateDir: dir });
  return { dir, outbox, delivery, writes, logged, fields, nextLog };
}

/** A link that records what it was sent. */
function link() {
  const sent: string[] = [];
  return {
    sent,
    ids: () => sent.map((t) => (JSON.parse(t) as { id: string }).id),
    send: (t: string) => sent.push(t) > 0,
  };
}

test("a kept report marks its job and waits in the outbox; the ack of its result forgets the job", async () => {
  const { outbox, delivery, writes } = await setup();
  delivery.keep(started("j1") as OutboxEnvelope);
  delivery.keep(finished("j1") as OutboxEnvelope);
  await outbox.flush();
  await outbox.settled();
  expect(writes).toEqual([
    ["j1", "running"],
    ["j1", "finished"],
  ]);
  expect(outbox.pending().map((e) => e.id)).toEqual(["started-j1", "finished-j1"]);

  await delivery.ack(["started-j1", "unknown-id"]);
  expect(writes).toHaveLength(2);
  await delivery.ack(["finished-j1"]);
  expect(writes.at(-1)).toEqual(["j1", "removed"]);
  expect(outbox.depth).toBe(0);
  await outbox.close();
});

test("a new connection gets every unacked report in order, then the fires the last one never saw acked", async () => {
  const { outbox, delivery } = await setup();
  delivery.keep(started("a") as OutboxEnvelope);
  delivery.keep(finished("a") as OutboxEnvelope);
  const first = link();
  const send = delivery.resend(first);
  expect(first.ids()).toEqual(["started-a", "finished-a"]);
  expect(send(fire(1))).toBe(true);
  expect(send(fire(2))).toBe(true);
  expect(first.ids().slice(2)).toEqual(["fire-1", "fire-2"]);

  await delivery.ack(["started-a", "fire-1"]);
  const second = link();
  delivery.resend(second);
  // The same frames, byte for byte: the server dedupes by id.
  expect(second.ids()).toEqual(["finished-a", "fire-2"]);
  expect(second.sent[1]).toBe(first.sent[3] as string);
  await outbox.close();
});

test("unacked fires are bounded at 1000, the oldest going first", async () => {
  const { outbox, delivery } = await setup();
  const send = delivery.resend(link());
  for (let n = 1; n <= 1001; n++) send(fire(n));
  const again = link();
  delivery.resend(again);
  expect(again.sent).toHaveLength(1000);
  expect(again.ids()[0]).toBe("fire-2");
  await outbox.close();
});

test("after a restart, the results left in the outbox are taken over: their acks forget their jobs", async () => {
  const before = await setup();
  before.delivery.keep(finished("old") as OutboxEnvelope);
  await before.outbox.close();

  const after = await setup(before.dir);
  expect([...after.delivery.recover()]).toEqual(["old"]);
  await after.delivery.ack(["finished-old"]);
  expect(after.writes).toEqual([["old", "removed"]]);
  await after.outbox.close();
});

test("a report the server refused as invalid leaves the outbox, and says so", async () => {
  const { outbox, delivery, logged } = await setup();
  delivery.keep(started("bad") as OutboxEnvelope);
  delivery.dropRefused("not-pending");
  expect(logged).toEqual([]);
  delivery.dropRefused("started-bad");
  expect(outbox.depth).toBe(0);
  expect(logged).toEqual(["dropped a report the server refused as invalid"]);
  await outbox.close();
});

test("a failed outbox write is logged, naming the state dir", async () => {
  const { dir, outbox, delivery, logged, fields, nextLog } = await setup();
  await outbox.close();
  const logging = nextLog();
  delivery.keep(started("late") as OutboxEnvelope);
  await logging;
  expect(logged).toEqual(["outbox write failed: check the state dir's disk"]);
  expect(fields[0]).toMatchObject({ error: "Error: outbox is closed", state_dir: dir });
});
