import { afterAll, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConfigUpdatePayload } from "../../protocol/index.ts";
import { Agent } from "./agent.ts";
import { handleServerMessage, type MessageContext } from "./handle-message.ts";
import { Redactor, silentLogger } from "./log.ts";
import { StateStore } from "./state/state-store.ts";
import { FakeClock } from "./testing/fake-clock.ts";
import { FakeSpawn } from "./testing/fake-spawn.ts";
import { OPEN_POLICY } from "./testing/open-policy.ts";

const root = await mkdtemp(join(tmpdir(), "rf-handle-"));
afterAll(() => rm(root, { recursive: true, force: true }));

/** A real (enrolled, never connected) agent, and the context its server messages are handled in. */
async function agentWithContext() {
  const dir = join(root, crypto.randomUUID());
  const clock = new FakeClock();
  const state = await StateStore.open(dir, { log: silentLogger, clock });
  await state.setIdentity({ server_url: "http://127.0.0.1:9/", host_id: "host_1", agent_token: "rfa_tok" });
  const redactor = new Redactor();
  const opts = { policy: OPEN_POLICY, clock, log: silentLogger, redactor };
  const agent = await Agent.open({
    ...opts,
    stateDir: dir,
    resticPath: "restic",
    version: "0.1.0",
    spawn: new FakeSpawn().spawn,
  });
  if (!agent) throw new Error("agent not enrolled");
  const ctx: MessageContext = {
    ...opts,
    state: agent.state,
    scheduler: agent.scheduler,
    autonomy: agent.autonomy,
    supervisor: agent.supervisor,
    live: agent.live,
    delivery: agent.delivery,
    stateDir: dir,
    emit: agent.emit,
    adoptPins: async () => {},
    send: () => false,
  };
  const update = (payload: ConfigUpdatePayload) =>
    handleServerMessage({ type: "config.update", id: crypto.randomUUID(), ts: "2026-12-02T12:00:00Z", payload }, ctx);
  return { agent, update };
}

test("config.update: auto_init reaches the jobs' repository; absent leaves it as is, false turns it off", async () => {
  const { agent, update } = await agentWithContext();
  await update({ repo_url: "/srv/repo", repo_password: "pw" });
  expect(agent.repo()).toEqual({ repo_url: "/srv/repo", repo_password: "pw" });
  await update({ repo_url: "/srv/repo", repo_password: "pw", auto_init: true });
  expect(agent.repo()?.auto_init).toBe(true);
  // An update that does not name it (an older server, or another setting) keeps it.
  await update({ hook_shell: "/bin/bash -c" });
  expect(agent.repo()).toEqual({
    repo_url: "/srv/repo",
    repo_password: "pw",
    hook_shell: "/bin/bash -c",
    auto_init: true,
  });
  await update({ repo_url: "/srv/other", auto_init: false });
  expect(agent.repo()).toEqual({ repo_url: "/srv/other", repo_password: "pw", hook_shell: "/bin/bash -c" });
  expect(agent.state.config()?.auto_init).toBe(false);
});
