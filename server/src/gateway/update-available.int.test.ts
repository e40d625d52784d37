import { expect, test } from "bun:test";
import { startTestServer, TestAgent } from "../testing/harness.ts";
import { isOlder } from "./gateway.ts";

test("isOlder compares x.y.z numerically and never calls an unparsable release newer", () => {
  expect(isOlder("0.1.0-test", "0.2.0")).toBe(true);
  expect(isOlder("0.10.0", "0.9.9")).toBe(false);
  expect(isOlder("1.0.0+abc", "1.0.0")).toBe(false);
  expect(isOlder("dev", "1.0.0")).toBe(true);
  expect(isOlder("1.0.0", "latest")).toBe(false);
});

test("an older agent is told about the new release on hello; a current one is not", async () => {
  const release = { latest_version: "0.2.0", package_url: "https://packages.example.com/restic-fleet/" };
  const t = await startTestServer({ agentRelease: release });
  try {
    const h = await t.enroll();
    const agent = await TestAgent.connect(t.url, h.agent_token);
    await agent.hello(); // agent_version 0.1.0-test
    expect((await agent.next("agent.update_available")).payload).toEqual(release);
    agent.close();
  } finally {
    await t.close();
  }
  const current = await startTestServer({
    agentRelease: { latest_version: "0.1.0", package_url: "https://x.example/" },
  });
  try {
    const h = await current.enroll();
    const agent = await TestAgent.connect(current.url, h.agent_token);
    await agent.hello();
    agent.send("schedule.fire", { schedule_id: "sch_x", scheduled_at: "2026-12-01T00:00:00Z" });
    await agent.next("error");
    expect(agent.of("agent.update_available")).toEqual([]);
    agent.close();
  } finally {
    await current.close();
  }
});
