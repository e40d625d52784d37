import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { EventWatcher, tempDir } from "../e2e/fleet.ts";

// The README's run command (`npm start` = scripts/demo.ts), on a temp dir and a free port.
const dir = tempDir("rf-demo-");
const port = 30000 + Math.floor(Math.random() * 20000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function startDemo() {
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "demo.ts")], {
    env: { ...process.env, RF_DEMO_DIR: dir, RF_LISTEN: `127.0.0.1:${port}` },
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const until = async (needle: string) => {
    while (!out.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`demo ended before "${needle}":\n${out}`);
      out += new TextDecoder().decode(value);
    }
    return out;
  };
  return { proc, until };
}

test("the demo starts a fleet of one whose scheduled backup succeeds, stops on Ctrl-C, and resumes", async () => {
  const first = startDemo();
  const text = await first.until("Ctrl-C stops");
  expect(text).toContain(`http://127.0.0.1:${port}`);
  expect(text).toMatch(/log in as admin \/ \S+/);
  const secrets = JSON.parse(readFileSync(join(dir, "demo-secrets.json"), "utf8")) as { api_token: string };
  const url = `http://127.0.0.1:${port}`;
  const events = await EventWatcher.open(url, secrets.api_token);
  const api = async <T>(path: string) =>
    (await (
      await fetch(`${url}/api/v1${path}`, { headers: { Authorization: `Bearer ${secrets.api_token}` } })
    ).json()) as T;

  // The backup schedule fires at the next minute: wait for its success on the event stream.
  const jobs = await api<{ items: Array<{ id: string; kind: string; status: string }> }>("/jobs");
  const done = jobs.items.find((j) => j.kind === "backup" && j.status === "succeeded");
  if (!done) {
    const ok = await events.until(
      (e) => e.type === "job.updated" && e.status === "succeeded" && e.job_id !== jobs.items.at(-1)?.id,
    );
    const job = await api<{ kind: string; actor_kind: string }>(`/jobs/${ok.job_id}`);
    expect(job.kind).toBe("backup");
    expect(job.actor_kind).toBe("schedule");
  }
  const hosts = await api<{ items: Array<{ id: string; online: boolean }> }>("/hosts");
  expect(hosts.items.length).toBe(1);
  await events.until((e) => e.type === "snapshots.updated");
  const snaps = await api<{ items: unknown[] }>(`/hosts/${hosts.items[0]?.id}/snapshots`);
  expect(snaps.items.length).toBeGreaterThan(0);
  events.close();

  first.proc.kill("SIGINT");
  expect(await first.proc.exited).toBe(0);

  // Again: same host, same admin password, no second enrollment.
  const second = startDemo();
  const again = await second.until("Ctrl-C stops");
  expect(again).not.toContain("initializing the repository");
  const hosts2 = await api<{ items: Array<{ id: string }> }>("/hosts");
  expect(hosts2.items.map((h) => h.id)).toEqual(hosts.items.map((h) => h.id));
  second.proc.kill("SIGINT");
  expect(await second.proc.exited).toBe(0);
});
