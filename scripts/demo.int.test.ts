import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync } from "node:fs";
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

/** The processes under `pid` (Linux /proc), found before it is signalled. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // It exited while we looked.
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) {
      if (pp === p) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// package.json's start script, as npm runs it (sh -c "..."): a process manager signals npm, and
// npm passes the signal to its child only. Without the script's `exec`, that child was the shell,
// which kept waiting (SIGINT) or died (SIGTERM), and the demo's server and agent ran on.
test("npm start stops with its server and agent when the npm process gets SIGINT or SIGTERM", async () => {
  const npmDir = tempDir("rf-demo-npm-");
  const npmPort = 30000 + Math.floor(Math.random() * 20000);
  const started: number[] = [];
  try {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const npm = Bun.spawn(["npm", "start"], {
        cwd: join(import.meta.dir, ".."),
        env: { ...process.env, RF_DEMO_DIR: npmDir, RF_LISTEN: `127.0.0.1:${npmPort}` },
        stdout: "pipe",
        stderr: "pipe",
      });
      let out = "";
      const reader = (npm.stdout as ReadableStream<Uint8Array>).getReader();
      while (!out.includes("Ctrl-C stops")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`npm start ended before it was ready:\n${out}`);
        out += new TextDecoder().decode(value);
      }
      void (async () => {
        while (!(await reader.read()).done) {}
      })();
      const children = descendants(npm.pid);
      started.push(npm.pid, ...children);
      const commands = children.map((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "));
      expect(commands.some((c) => c.includes("server/src/main.ts serve"))).toBe(true);
      expect(commands.some((c) => c.includes("agent/src/main.ts run"))).toBe(true);
      npm.kill(signal);
      expect(await npm.exited).toBe(0);
      // The demo stopped the server and the agent, and waited for them, before it exited.
      expect(children.filter(alive)).toEqual([]);
    }
  } finally {
    // Only after a failure: nothing of the demo outlives the test.
    for (const pid of started.filter(alive)) process.kill(pid, "SIGKILL");
    rmSync(npmDir, { recursive: true, force: true });
  }
});
