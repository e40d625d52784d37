import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RecordingReceiver, recordingReceiver } from "../server/src/testing/recording-receiver.ts";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { REPO_PASSWORD, resticDirect, TestHost } from "./host.ts";

// Issue 15 end to end, with the compiled agent, real restic and a real webhook receiver: a host
// whose repository password is wrong and backs up on a schedule gives one backup_failed
// notification; once the password is fixed, one resolved notification; nothing more.
let fleet: Fleet;
let work: string;
let host: TestHost;
let hook: RecordingReceiver;

beforeAll(async () => {
  work = tempDir("rf-e2e-alerts-");
  hook = recordingReceiver();
  // One-second batches, so the test does not wait out the 30 s default.
  fleet = await startFleet({ env: { RF_ALERT_BATCH_SECONDS: "1" } });
});

afterAll(async () => {
  await host?.stop();
  host?.events?.close();
  await fleet?.close();
  await hook?.stop();
  rmSync(work, { recursive: true, force: true });
});

test("a wrong repository password: one backup_failed notification; fixed: one resolved; nothing more", async () => {
  const repo = join(work, "repo");
  const data = join(work, "srv");
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "a.txt"), "alert me\n");
  expect((await resticDirect(repo, ["init"], work)).code).toBe(0);

  const channel = await fleet.api<{ id: string }>("/notification-channels", "POST", {
    name: "ops",
    kind: "webhook",
    config: { url: `${hook.url}/hook`, secret: "e2e-hook-secret" },
  });
  expect(channel.status).toBe(201);
  const rule = await fleet.api("/alert-rules", "POST", {
    name: "backups",
    conditions: ["backup_failed"],
    channel_ids: [channel.body.id],
  });
  expect(rule.status).toBe(201);

  host = new TestHost(fleet, join(work, "web-01"));
  await host.watch();
  await host.enroll({ hostname: "web-01", repoUrl: repo });
  await fleet.api(`/hosts/${host.hostId}/config`, "PUT", { repo_password: "not-the-password" });
  await host.start();
  await fleet.api(`/hosts/${host.hostId}/schedules`, "POST", {
    kind: "backup",
    cron_expr: "*/5 * * * * *",
    paths: [data],
  });

  const fired = JSON.parse((await hook.next()).text);
  expect(fired.event).toBe("alert.firing");
  expect(fired.alerts).toEqual([
    expect.objectContaining({
      condition: "backup_failed",
      host_id: host.hostId,
      host_name: "web-01",
      resolved_at: null,
    }),
  ]);
  expect(fired.alerts[0].summary).toContain("backup failed");

  await fleet.api(`/hosts/${host.hostId}/config`, "PUT", { repo_password: REPO_PASSWORD });
  const resolved = JSON.parse((await hook.next()).text);
  expect(resolved.event).toBe("alert.resolved");
  expect(resolved.alerts).toEqual([expect.objectContaining({ condition: "backup_failed", id: fired.alerts[0].id })]);

  // Two more good backups: still the two messages, and the channel's log says the same.
  const events = host.events ?? (await host.watch());
  for (let i = 0; i < 2; i++) {
    const from = events.seen.length;
    await events.until((e) => e.type === "job.updated" && e.host_id === host.hostId && e.status === "succeeded", from);
  }
  const log = await fleet.api<{ items: { event: string; state: string }[] }>(
    `/notification-channels/${channel.body.id}/deliveries`,
  );
  expect(log.body.items.map((n) => [n.event, n.state])).toEqual([
    ["alert.resolved", "sent"],
    ["alert.firing", "sent"],
  ]);
  expect(hook.requests).toHaveLength(2);
});
