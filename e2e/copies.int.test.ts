import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { resticOn } from "../agent/src/testing/int-helpers.ts";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { type Job, TestHost } from "./host.ts";
import { launchChromium, login, overflows, shot, shotOf } from "./ui-session.ts";

// A second copy (3-2-1) end to end: the real server, the real agent and restic. web-a backs up to
// its repository; the server makes the copy job; the agent copies the snapshot to a second
// repository (a `{host}` template the agent initialises itself); the copy restores byte for byte;
// the host page shows the target with its newest copy, in Chromium at desktop and phone sizes.
let fleet: Fleet;
let work: string;
let web: TestHost;
let browser: Browser;
const OFFSITE_PASSWORD = "e2e-offsite-password";
const TERMINAL = ["succeeded", "failed", "cancelled"];

beforeAll(async () => {
  work = tempDir("rf-e2e-copies-");
  fleet = await startFleet();
  web = new TestHost(fleet, join(work, "web-a"));
  await web.watch();
  await web.enroll({ hostname: "web-a" });
  await web.start();
  expect((await web.run({ kind: "init" })).status).toBe("succeeded");
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await web?.stop();
  web?.events?.close();
  await fleet?.close();
  rmSync(work, { recursive: true, force: true });
});

test("a backup is copied to the host's copy target, which restores it byte for byte; the host page shows it", async () => {
  const repo = await fleet.api<{ id: string }>("/repositories", "POST", {
    name: "offsite",
    url: join(work, "offsite", "{host}"),
    password: OFFSITE_PASSWORD,
    auto_init: true,
  });
  expect(repo.status).toBe(201);
  const patched = await fleet.api(`/hosts/${web.hostId}`, "PATCH", {
    copy_targets: [{ repository_id: repo.body.id, retention_policy: { keep_last: 5 } }],
  });
  expect(patched.status).toBe(200);

  const data = join(work, "srv");
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, "app.conf"), "listen 8080\n");
  writeFileSync(join(data, "blob.bin"), Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251)));

  const events = web.events ?? (await web.watch());
  const from = events.seen.length;
  const backup = await web.run({ kind: "backup", spec: { paths: [data] } });
  expect(backup.status).toBe("succeeded");
  const done = await events.until(
    (e) =>
      e.type === "job.updated" &&
      e.host_id === web.hostId &&
      e.job_id !== backup.id &&
      TERMINAL.includes(e.status ?? ""),
    from,
  );
  const copy = await web.job(done.job_id as string);
  expect(copy.error).toBeNull();
  expect(copy).toMatchObject({ kind: "copy", status: "succeeded", actor_kind: "system" } satisfies Partial<Job>);

  // Straight from the copy target: web-a's snapshot, restored byte for byte.
  const target = join(work, "offsite", "web-a");
  const restored = join(work, "restored");
  const direct = (args: string[]) => resticOn({ repo: target, password: OFFSITE_PASSWORD, scratch: work }, args);
  const listed = await direct(["snapshots", "--json", "--no-lock"]);
  expect(listed.code).toBe(0);
  const snaps = JSON.parse(listed.stdout) as Array<{ id: string; hostname: string }>;
  expect(snaps.map((s) => s.hostname)).toEqual(["web-a"]);
  expect((await direct(["restore", "latest", "--host=web-a", `--target=${restored}`])).code).toBe(0);
  for (const name of readdirSync(data)) {
    expect(readFileSync(join(restored, data, name)).equals(readFileSync(join(data, name)))).toBe(true);
  }

  const targets = await fleet.api<{ items: Array<Record<string, unknown>> }>(`/hosts/${web.hostId}/copy-targets`);
  expect(targets.body.items[0]).toMatchObject({
    repository_name: "offsite",
    health: "ok",
    snapshot_count: 1,
    latest_snapshot_id: snaps[0]?.id,
  });

  for (const [name, viewport] of [
    ["copies-desktop", { width: 1366, height: 900 }],
    ["copies-phone", { width: 390, height: 844 }],
  ] as const) {
    const page = await browser.newPage({ viewport });
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    await login(page, fleet.url, "admin", "e2e-admin-password");
    await page.goto(`${fleet.url}/#/hosts/${web.hostId}`);
    const card = page.locator("section", { has: page.getByRole("heading", { name: "Copies" }) });
    await card.getByText("copied after the last backup").waitFor();
    expect(await card.locator("code").first().textContent()).toBe(snaps[0]?.id.slice(0, 8) ?? null);
    await card.scrollIntoViewIfNeeded();
    await shot(page, name);
    await shotOf(card, `${name}-card`);
    expect(await overflows(page)).toBe(false);
    expect(problems).toEqual([]);
    await page.close();
  }
}, 180_000);
