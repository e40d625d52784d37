import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { RESTIC } from "../testing/int-helpers.ts";

// `bun agent/src/main.ts`, a real process, against a scripted server on a loopback port: the
// enrollment route and the agent's WebSocket, answering as the real server does.
const MAIN = join(import.meta.dir, "..", "main.ts");
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
const running = new Set<Subprocess>();
afterAll(async () => {
  // Only after a failed test: no agent outlives the file.
  for (const p of running) p.kill("SIGKILL");
  await Promise.all([...running].map((p) => p.exited));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const policyFile = join(tempDir("rf-agent-cli-policy-"), "policy.json");
writeFileSync(policyFile, "{}\n");
const env = { ...process.env, RF_POLICY: policyFile, RF_RESTIC: RESTIC };

async function cli(args: string[]) {
  const p = Bun.spawn([process.execPath, MAIN, ...args], { env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, code };
}

/**
 * The server's side: enrollment answers 201 with an identity, and the WebSocket closes the
 * connections numbered in `closeFirst` with code 1013 (a busy server), then stays open.
 */
function scriptedServer(closeFirst = 0) {
  let connections = 0;
  return Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req, s) {
      const path = new URL(req.url).pathname;
      if (path === "/api/v1/agent/enroll" && req.method === "POST") {
        return Response.json({ host_id: "host_cli", agent_token: "rfa_cli_token_0123456789" }, { status: 201 });
      }
      if (path === "/api/v1/agent/ws" && s.upgrade(req)) return undefined;
      return new Response("not found", { status: 404 });
    },
    websocket: {
      open(ws) {
        if (++connections <= closeFirst) ws.close(1013, "try again later");
      },
      message() {},
    },
  });
}

/** `run`, its stderr collected; `line` waits on a log line, never on time. */
function startRun(stateDir: string) {
  const proc = Bun.spawn([process.execPath, MAIN, "run", "--state-dir", stateDir], {
    env,
    stdout: "ignore",
    stderr: "pipe",
  });
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  let log = "";
  let ended = false;
  let changed = Promise.withResolvers<void>();
  const done = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) {
      log += decoder.decode(chunk, { stream: true });
      changed.resolve();
      changed = Promise.withResolvers<void>();
    }
    ended = true;
    changed.resolve();
  })();
  return {
    proc,
    /** The `nth` complete line matching `pattern`. */
    async line(pattern: RegExp, nth = 1): Promise<string> {
      for (;;) {
        const found = log.split("\n").filter((l, i, all) => i < all.length - 1 && pattern.test(l))[nth - 1];
        if (found) return found;
        if (ended) throw new Error(`run exited (${await proc.exited}) without a line matching ${pattern}:\n${log}`);
        await changed.promise;
      }
    },
    output: async () => {
      await done;
      return log;
    },
  };
}

test("an unknown option, or one the command does not take, is a usage error in our words (exit 2)", async () => {
  for (const [args, message, help] of [
    [["run", "--foo"], 'unknown option --foo for "run"', "restic-fleet-agent run --help"],
    [["status", "--force"], 'unknown option --force for "status"', "restic-fleet-agent status --help"],
    [["--foo"], "unknown option --foo", "restic-fleet-agent --help"],
    [["enroll", "--server"], '--server needs a value for "enroll"', "restic-fleet-agent enroll --help"],
    [["status", "--json=no"], '--json takes no value for "status"; got "no"', "restic-fleet-agent status --help"],
    [
      ["run", "--log-level", "loud"],
      '--log-level (or RF_LOG_LEVEL) must be debug, info, warn or error; got "loud"',
      "restic-fleet-agent run --help",
    ],
  ] as const) {
    const r = await cli([...args]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`restic-fleet-agent: ${message}\nRun '${help}' for usage.\n`);
  }
});

test("RF_LOG_LEVEL is read by the commands that log only: a bad one does not stop status", async () => {
  const p = Bun.spawn([process.execPath, MAIN, "status", "--state-dir", tempDir("rf-agent-cli-empty-")], {
    env: { ...env, RF_LOG_LEVEL: "loud" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  expect(code).toBe(3);
  expect(stdout).toMatch(/enrolled: +no/);
});

test("the usage names --hostname for enroll and for run (which enrolls from RF_SERVER and RF_ENROLL_TOKEN)", async () => {
  const main = await cli(["--help"]);
  expect(main.code).toBe(0);
  expect(main.stdout).toContain("enroll --server URL --token TOKEN [--hostname NAME]");
  const run = await cli(["run", "--help"]);
  expect(run.stdout).toContain("[--hostname NAME]");
});

test("enroll with a non-default --state-dir says to run with it; run then reconnects saying why, and stops on SIGTERM without a status.json error", async () => {
  const server = scriptedServer(1);
  const stateDir = join(tempDir("rf-agent-cli-"), "state dir");
  const url = `http://127.0.0.1:${server.port}/`;
  const enrolled = await cli(["enroll", "--server", url, "--token", "rfe_x", "--state-dir", stateDir]);
  expect(enrolled.stderr).toBe("");
  expect(enrolled.code).toBe(0);
  expect(enrolled.stdout).toBe(
    `enrolled as host host_cli; start the agent with: restic-fleet-agent run --state-dir "${stateDir}"\n`,
  );

  const agent = startRun(stateDir);
  // The first connection is closed by the (busy) server: the retry line says so.
  const retry = JSON.parse(await agent.line(/"msg":"reconnecting"/)) as { reason: string };
  expect(retry.reason).toBe("closed (code 1013: try again later)");
  await agent.line(/"msg":"connected to server"/, 2);
  agent.proc.kill("SIGTERM");
  expect(await agent.proc.exited).toBe(0);
  const log = await agent.output();
  expect(log).toContain('"msg":"stopping"');
  expect(log).not.toContain("status.json");
  expect(log).not.toContain('"level":"error"');
  server.stop(true);
});

test("hints name a non-default state dir: status and run when not enrolled, and run when the server refuses the token", async () => {
  const empty = tempDir("rf-agent-cli-empty-");
  const hint = `restic-fleet-agent enroll --server URL --token T --state-dir ${empty}`;
  const status = await cli(["status", "--state-dir", empty]);
  expect(status.code).toBe(3);
  expect(status.stdout).toContain(`no: run '${hint}'`);
  const notEnrolled = await cli(["run", "--state-dir", empty]);
  expect(notEnrolled.code).toBe(3);
  expect(notEnrolled.stderr).toContain(`not enrolled: run '${hint}'`);

  // Enrolled, then revoked: the server answers 401 to the WebSocket and to the probe after it.
  const server = scriptedServer();
  const stateDir = tempDir("rf-agent-cli-revoked-");
  const url = `http://127.0.0.1:${server.port}/`;
  expect((await cli(["enroll", "--server", url, "--token", "rfe_x", "--state-dir", stateDir])).code).toBe(0);
  server.stop(true);
  const refusing = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("", { status: 401 }) });
  const identity = join(stateDir, "identity.json");
  const text = await Bun.file(identity).text();
  await Bun.write(identity, text.replace(url, `http://127.0.0.1:${refusing.port}/`));
  const revoked = await cli(["run", "--state-dir", stateDir]);
  expect(revoked.code).toBe(4);
  expect(revoked.stderr).toContain(
    `Enroll again with: restic-fleet-agent enroll --force --server URL --token T --state-dir ${stateDir}`,
  );
  refusing.stop(true);
});
