import { afterAll, beforeAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, startFleet, tempDir } from "./fleet.ts";
import { REPO_PASSWORD, resticDirect, TestHost } from "./host.ts";

// Test connection end to end: the server process, the compiled agent and the real restic (0.14, or
// RF_TEST_RESTIC). POST /repositories/:id/test asks web-a's agent over its socket, which opens the
// repository with the settings the server holds for it: a good one, a wrong password, none there.

let fleet: Fleet;
let work: string;
let host: TestHost;
let repo: string;

beforeAll(async () => {
  work = tempDir("rf-e2e-repotest-");
  repo = join(work, "repo");
  expect((await resticDirect(repo, ["init"], work)).code).toBe(0);
  fleet = await startFleet();
  host = new TestHost(fleet, join(work, "a"));
  await host.watch();
  await host.enroll({ hostname: "web-a", repoUrl: null });
  await host.start();
}, 120_000);

afterAll(async () => {
  await host?.stop();
  host?.events?.close();
  await fleet?.close();
  rmSync(work, { recursive: true, force: true });
});

async function testOf(name: string, url: string, password: string) {
  const r = await fleet.api<{ id: string }>("/repositories", "POST", { name, url, password });
  expect(r.status).toBe(201);
  return fleet.api<Record<string, unknown>>(`/repositories/${r.body.id}/test`, "POST", { host_id: host.hostId });
}

test("a good repository: reachable, initialised, password right, no locks", async () => {
  const r = await testOf("good", repo, REPO_PASSWORD);
  expect(r).toEqual({
    status: 200,
    body: {
      host_id: host.hostId,
      reachable: true,
      initialised: true,
      password_ok: true,
      locks: { count: 0, stale: 0 },
    },
  });
});

test("a wrong password and a missing repository are told apart, the password never in the answer", async () => {
  const wrong = await testOf("wrong", repo, "not-the-password-31");
  expect(wrong.body).toMatchObject({ reachable: true, initialised: true, password_ok: false, locks: null });
  expect(String(wrong.body.error)).toContain("wrong password");
  expect(JSON.stringify(wrong.body)).not.toContain("not-the-password-31");
  const missing = await testOf("missing", join(work, "nothing-here"), REPO_PASSWORD);
  expect(missing.body).toMatchObject({ reachable: true, initialised: false, password_ok: false });
  expect(String(missing.body.error)).toContain("no such file or directory");
});
