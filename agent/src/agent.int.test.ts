import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeAgentMessage, encode } from "../../protocol/index.ts";
import { Agent } from "./agent.ts";
import { realClock } from "./clock.ts";
import { IDLE_JIT_POLICY, WORK_JIT_POLICY } from "./jit-policy.ts";
import { Redactor, silentLogger } from "./log.ts";
import { StateStore } from "./state/state-store.ts";
import { FakeSpawn } from "./testing/fake-spawn.ts";
import { OPEN_POLICY } from "./testing/open-policy.ts";

// The real Agent against a scripted WebSocket server (a real socket), with a fake restic.
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("a command.run re-sent after a lost link is answered, not run twice; the result is replayed", async () => {
  let conn = 0;
  const got: Array<{ conn: number; type: string; payload: Record<string, unknown> }> = [];
  let waiters: Array<() => void> = [];
  const until = async (f: () => boolean) => {
    while (!f()) await new Promise<void>((r) => waiters.push(r));
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req, s) {
      return s.upgrade(req) ? undefined : new Response("no", { status: 400 });
    },
    websocket: {
      open(ws) {
        conn++;
        ws.send(encode("config.update", { repo_url: "/srv/repo", repo_password: "pw-secret-123" }));
        // Delivered on every connection, as the server does for a job it never saw accepted.
        ws.send(encode("command.run", { job_id: "job_x", kind: "unlock" }));
      },
      message(ws, data) {
        const d = decodeAgentMessage(String(data));
        if (!d.ok) return;
        got.push({ conn, type: d.message.type, payload: d.message.payload as Record<string, unknown> });
        const w = waiters;
        waiters = [];
        for (const f of w) f();
        // The job finishes, then the link drops before the server stored anything (no ack).
        if (conn === 1 && d.message.type === "job.finished") ws.close(1011, "drop");
      },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), "rf-agent-"));
  dirs.push(dir);
  const state = await StateStore.open(dir, { log: silentLogger });
  await state.setIdentity({
    server_url: `http://127.0.0.1:${server.port}/`,
    host_id: "host_1",
    agent_token: "rfa_tok",
  });
  const spawn = new FakeSpawn();
  const jitPolicies: number[] = [];
  const agent = await Agent.open({
    stateDir: dir,
    resticPath: "restic",
    policy: OPEN_POLICY,
    clock: realClock,
    log: silentLogger,
    redactor: new Redactor(),
    version: "0.1.0",
    spawn: spawn.spawn,
    setJitPolicy: (scale) => jitPolicies.push(scale),
  });
  if (!agent) throw new Error("agent not enrolled");
  const stop = new AbortController();
  const running = agent.run(stop.signal);
  await until(
    () =>
      got.some((g) => g.conn === 2 && g.type === "command.result") &&
      got.some((g) => g.conn === 2 && g.type === "job.finished"),
  );
  stop.abort();
  await running;
  server.stop(true);
  expect(spawn.commands.filter((c) => c.startsWith("unlock")).length).toBe(1);
  // Connection 2 only replays the unacked reports of the one run: the same start, the same result.
  const starts = got.filter((g) => g.type === "job.started").map((g) => g.payload.started_at);
  expect(new Set(starts).size).toBe(1);
  const ends = got.filter((g) => g.type === "job.finished").map((g) => g.payload.finished_at);
  expect(new Set(ends).size).toBe(1);
  const results = got.filter((g) => g.conn === 2 && g.type === "command.result");
  expect(results.every((r) => r.payload.accepted === true)).toBe(true);
  // Idle from the start, the normal JIT for the one job, idle again once it finished.
  expect(jitPolicies).toEqual([IDLE_JIT_POLICY, WORK_JIT_POLICY, IDLE_JIT_POLICY]);
}, 30_000);

test("at start, the password files an earlier run left behind (a crash) are removed; nothing else is", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rf-agent-"));
  dirs.push(dir);
  const state = await StateStore.open(dir, { log: silentLogger });
  await state.setIdentity({ server_url: "http://127.0.0.1:9/", host_id: "host_1", agent_token: "rfa_tok" });
  await state.settled();
  mkdirSync(join(dir, "tmp"), { recursive: true });
  writeFileSync(join(dir, "tmp", "rf-restic-pw-0123abcd"), "the-repo-password");
  writeFileSync(join(dir, "tmp", "keep-me"), "x");
  const agent = await Agent.open({
    stateDir: dir,
    resticPath: "restic",
    policy: OPEN_POLICY,
    clock: realClock,
    log: silentLogger,
    redactor: new Redactor(),
    version: "0.1.0",
    spawn: new FakeSpawn().spawn,
  });
  expect(agent).not.toBeNull();
  expect(readdirSync(join(dir, "tmp"))).toEqual(["keep-me"]);
});
