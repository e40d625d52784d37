import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

/** A small seeded PRNG (mulberry32), so a failing run can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const fixtures = readdirSync(join(import.meta.dir, "../../../protocol/fixtures")).map((f) =>
  readFileSync(join(import.meta.dir, "../../../protocol/fixtures", f), "utf8"),
);

const NASTY: unknown[] = [null, -1, 1e308, "", "x".repeat(5000), [], {}, true, { __proto__: 1 }, "💥", -0, 2 ** 53 + 1];

function mutate(rand: () => number, text: string): string {
  const r = rand();
  if (r < 0.25) {
    // Byte-level damage: flip, cut or splice characters.
    const chars = [...text];
    const n = 1 + Math.floor(rand() * 5);
    for (let i = 0; i < n; i++) {
      const at = Math.floor(rand() * chars.length);
      const op = rand();
      if (op < 0.4) chars[at] = String.fromCharCode(Math.floor(rand() * 128));
      else if (op < 0.7) chars.splice(at, 1);
      else chars.splice(at, 0, '{["\\:,}]'[Math.floor(rand() * 8)] as string);
    }
    return chars.join("");
  }
  if (r < 0.35) return text.slice(0, Math.floor(rand() * text.length));
  if (r < 0.45) {
    // Pure noise.
    return Array.from({ length: Math.floor(rand() * 200) }, () =>
      String.fromCharCode(Math.floor(rand() * 0xffff)),
    ).join("");
  }
  // Structural: replace a random field anywhere in the parsed frame with a nasty value.
  const obj = JSON.parse(text);
  const stack: Array<Record<string, unknown>> = [obj];
  const holders: Array<[Record<string, unknown>, string]> = [];
  while (stack.length) {
    const o = stack.pop() as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      holders.push([o, k]);
      if (o[k] && typeof o[k] === "object") stack.push(o[k] as Record<string, unknown>);
    }
  }
  const [holder, key] = holders[Math.floor(rand() * holders.length)] as [Record<string, unknown>, string];
  holder[key] = NASTY[Math.floor(rand() * NASTY.length)];
  if (rand() < 0.2) obj.id = `fuzz-${Math.floor(rand() * 1e9)}`;
  return JSON.stringify(obj);
}

test("1000+ random and mutated frames: the process lives, other agents are unaffected, the database is intact", async () => {
  const victim = await t.enroll("victim");
  const attacker = await t.enroll("attacker");
  // The victim has a job and a schedule the attacker might try to touch.
  const job = await t.json(`/api/v1/hosts/${victim.host_id}/jobs`, { method: "POST", body: { kind: "check" } });

  const rand = prng(20261130);
  let agent = await TestAgent.connect(t.url, attacker.agent_token);
  await agent.hello();
  let sent = 0;
  let reconnects = 0;
  while (sent < 1200) {
    // Stay under the flood limit per connection (100 invalid frames/minute); reconnect to continue.
    for (let i = 0; i < 90 && sent < 1200; i++, sent++) {
      const base = fixtures[Math.floor(rand() * fixtures.length)] as string;
      let frame = mutate(rand, base);
      if (rand() < 0.1) frame = frame.replaceAll("job_42", job.body.id);
      agent.sendRaw(frame);
    }
    // A valid round trip proves the connection processed everything before it.
    agent.send("schedule.fire", { schedule_id: "sch_probe", scheduled_at: "2026-12-01T00:00:00Z" });
    await agent.until(() => agent.of("error").some((e) => e.payload.message.includes("sch_probe")) || agent.closed);
    agent.close();
    agent = await TestAgent.connect(t.url, attacker.agent_token);
    await agent.hello();
    reconnects++;
  }
  expect(sent).toBeGreaterThanOrEqual(1000);
  expect(reconnects).toBeGreaterThan(10);

  // The victim's data is untouched and its agent still works normally.
  expect((await t.json(`/api/v1/jobs/${job.body.id}`)).body.status).toBe("queued");
  const v = await TestAgent.connect(t.url, victim.agent_token);
  await v.hello();
  const run = await v.next("command.run");
  expect(run.payload.job_id).toBe(job.body.id);
  expect((await t.json("/healthz", { token: null })).status).toBe(200);
  expect(t.server.store.integrityCheck()).toBe("ok");
  v.close();
  agent.close();
});

test("more than 100 invalid frames in a minute close the socket with a reason", async () => {
  const h = await t.enroll("flooder");
  const agent = await TestAgent.connect(t.url, h.agent_token);
  for (let i = 0; i < 150; i++) agent.sendRaw("not json");
  const closed = await agent.waitClosed();
  expect(closed.code).toBe(1008);
  expect(closed.reason).toContain("invalid frames");
  expect(agent.of("error")[0]?.payload.code).toBe("invalid_message");
});
