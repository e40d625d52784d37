import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type AgentProc, agentCommand, type Fleet, runAgentCli, startAgent, startFleet, tempDir } from "./fleet.ts";
import { RESTIC } from "./host.ts";

// Repository secrets never cross a network in clear: an agent in its own network namespace
// (a veth pair with the test's own addresses) reaches the server over plain http, from an
// address that is not loopback. Needs root and `ip netns`; elsewhere the rule is tested through
// its seam (server/src/http/transport.test.ts) and this file says why it skipped.
const NS = `rf-insecure-${process.pid}`;
const HOST_IF = `rfh${process.pid % 100000}`;
const NS_IF = `rfn${process.pid % 100000}`;
const SERVER_IP = "10.213.7.1";
const AGENT_IP = "10.213.7.2";

function sh(args: string[]) {
  const r = Bun.spawnSync(args, { stderr: "pipe", stdout: "pipe" });
  return { ok: r.exitCode === 0, err: r.stderr.toString() };
}

function makeNamespace(): string | null {
  if (process.getuid?.() !== 0) return "not root";
  if (!Bun.which("ip")) return "no ip command (iproute2)";
  const steps = [
    ["ip", "netns", "add", NS],
    ["ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF],
    ["ip", "link", "set", NS_IF, "netns", NS],
    ["ip", "addr", "add", `${SERVER_IP}/30`, "dev", HOST_IF],
    ["ip", "link", "set", HOST_IF, "up"],
    ["ip", "netns", "exec", NS, "ip", "addr", "add", `${AGENT_IP}/30`, "dev", NS_IF],
    ["ip", "netns", "exec", NS, "ip", "link", "set", NS_IF, "up"],
    ["ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up"],
  ];
  for (const s of steps) {
    const r = sh(s);
    if (!r.ok) return `${s.join(" ")} failed: ${r.err.trim()}`;
  }
  return null;
}

let skip: string | null = null;
let work: string;
let fleet: Fleet | null = null;
let agent: AgentProc | null = null;
const inNamespace = () => ["ip", "netns", "exec", NS, ...agentCommand()];

beforeAll(() => {
  skip = makeNamespace();
  if (skip) console.warn(`insecure-link tests skipped: cannot make a network namespace (${skip})`);
  work = tempDir("rf-e2e-insecure-");
});

afterAll(async () => {
  agent?.proc.kill("SIGTERM");
  await agent?.proc.exited;
  await fleet?.close();
  sh(["ip", "link", "del", HOST_IF]);
  sh(["ip", "netns", "del", NS]);
  rmSync(work, { recursive: true, force: true });
});

async function enrolledHost(serverArgs: string[]) {
  fleet = await startFleet({ listen: "0.0.0.0:0", serverArgs });
  const port = new URL(fleet.url).port;
  const url = `http://${SERVER_IP}:${port}`;
  const state = join(work, `state-${serverArgs.length}`);
  mkdirSync(state, { recursive: true });
  const token = (await fleet.api<{ token: string }>("/enrollment-tokens", "POST", { uses: 1 })).body.token;
  const enroll = (extra: string[]) =>
    runAgentCli(["enroll", "--server", url, "--token", token, "--state-dir", state, ...extra], {}, inNamespace());
  return { url, state, enroll };
}

test("over plain ws:// from off this machine the server keeps the repository password back", async () => {
  if (skip) return;
  const { state, enroll } = await enrolledHost([]);
  // The agent itself refuses to enroll over plain http to a server that is not on loopback.
  const refused = enroll([]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("refusing to enroll over plain http");
  const ok = enroll(["--insecure"]);
  expect(ok.code).toBe(0);
  const hostId = /host (\S+);/.exec(ok.stdout)?.[1] ?? "";
  const f = fleet as Fleet;
  await f.api(`/hosts/${hostId}/config`, "PUT", { repo_url: join(work, "repo"), repo_password: "never-in-clear" });
  const events = await f.events();
  agent = startAgent(state, { RF_RESTIC: RESTIC }, inNamespace());
  await events.until((e) => e.type === "host.updated" && e.host_id === hostId && e.online === true);
  await agent.logUntil(/withheld the repository password/);
  const host = (await f.api<{ secrets_withheld: boolean }>(`/hosts/${hostId}`)).body;
  expect(host.secrets_withheld).toBe(true);
  // The agent has no repository, and says so in the job.
  const job = (await f.api<{ id: string }>(`/hosts/${hostId}/jobs`, "POST", { kind: "init" })).body;
  const done = await events.until((e) => e.type === "job.updated" && e.job_id === job.id && e.status === "failed");
  expect(done.status).toBe("failed");
  expect(agent.log.join("")).not.toContain("never-in-clear");
  agent.proc.kill("SIGTERM");
  await agent.proc.exited;
  agent = null;
  events.close();
  await f.close();
  fleet = null;
});

test("with --allow-insecure-agents the secrets go anyway, and the job runs", async () => {
  if (skip) return;
  const { state, enroll } = await enrolledHost(["--allow-insecure-agents"]);
  const ok = enroll(["--insecure"]);
  expect(ok.code).toBe(0);
  const hostId = /host (\S+);/.exec(ok.stdout)?.[1] ?? "";
  const f = fleet as Fleet;
  await f.api(`/hosts/${hostId}/config`, "PUT", { repo_url: join(work, "repo2"), repo_password: "allowed-in-clear" });
  const events = await f.events();
  agent = startAgent(state, { RF_RESTIC: RESTIC }, inNamespace());
  await events.until((e) => e.type === "host.updated" && e.host_id === hostId && e.online === true);
  expect((await f.api<{ secrets_withheld: boolean }>(`/hosts/${hostId}`)).body.secrets_withheld).toBe(false);
  const job = (await f.api<{ id: string }>(`/hosts/${hostId}/jobs`, "POST", { kind: "init" })).body;
  const done = await events.until(
    (e) => e.type === "job.updated" && e.job_id === job.id && ["succeeded", "failed"].includes(e.status ?? ""),
  );
  expect(done.status).toBe("succeeded");
  events.close();
});
