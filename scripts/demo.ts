// The README's run command: a fleet of one on this machine. Starts restic-fleet-server on an
// SQLite data directory under ./.demo/, enrolls a local restic-fleet-agent, points it at a local
// repository, and schedules a backup of a sample folder every minute. Ctrl-C stops everything, as
// does SIGINT or SIGTERM to `npm start` (its script execs bun: npm signals only its own child, and a
// shell in between kept the signal from the demo); running it again reuses ./.demo/.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

const ROOT = resolve(import.meta.dir, "..");
const DEMO = resolve(process.env.RF_DEMO_DIR ?? join(ROOT, ".demo"));
const LISTEN = process.env.RF_LISTEN ?? "127.0.0.1:8080";
const BUN = process.execPath;
const paths = {
  server: join(DEMO, "server"),
  agent: join(DEMO, "agent"),
  repo: join(DEMO, "repo"),
  sample: join(DEMO, "sample"),
  secrets: join(DEMO, "demo-secrets.json"),
};

interface DemoSecrets {
  admin_password: string;
  api_token?: string;
  repo_password: string;
  host_id?: string;
}

const say = (line: string) => console.log(`[demo] ${line}`);
let stopping = false;

function fail(message: string): never {
  console.error(`[demo] error: ${message}`);
  process.exit(1);
}

function loadSecrets(): DemoSecrets {
  if (existsSync(paths.secrets)) return JSON.parse(readFileSync(paths.secrets, "utf8")) as DemoSecrets;
  return {
    admin_password: randomBytes(12).toString("base64url"),
    repo_password: randomBytes(18).toString("base64url"),
  };
}

function saveSecrets(s: DemoSecrets) {
  writeFileSync(paths.secrets, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
}

function ensureRestic() {
  const r = Bun.spawnSync(["bash", join(ROOT, "scripts/ensure-system-deps.sh"), "restic"], { stderr: "inherit" });
  if (r.exitCode !== 0) fail("restic is needed: install it with 'sudo apt-get install restic'");
}

function writeSample() {
  if (existsSync(paths.sample)) return;
  mkdirSync(join(paths.sample, "docs"), { recursive: true });
  writeFileSync(join(paths.sample, "README.txt"), "This folder is backed up every minute by the Restic Fleet demo.\n");
  writeFileSync(
    join(paths.sample, "docs", "notes.md"),
    "# Notes\n\nEdit me, and watch the next snapshot pick it up.\n",
  );
  writeFileSync(join(paths.sample, "data.bin"), randomBytes(256 * 1024));
}

/** Starts a child whose stderr lines are echoed with a prefix; resolves once a line matches. */
async function startChild(
  name: string,
  cmd: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<Subprocess> {
  const proc = Bun.spawn(cmd, { env: { ...process.env, ...env }, stdout: "inherit", stderr: "pipe" });
  const reader = (proc.stderr as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let resolveReady!: () => void;
  const isReady = new Promise<void>((r) => {
    resolveReady = r;
  });
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (ready.test(line)) resolveReady();
        if (process.env.RF_DEMO_VERBOSE) console.error(`[${name}] ${line}`);
        nl = buffer.indexOf("\n");
      }
    }
  })();
  const exited = proc.exited.then((code) => {
    if (!stopping) fail(`${name} exited with code ${code} (RF_DEMO_VERBOSE=1 shows its log)`);
  });
  await Promise.race([isReady, exited]);
  return proc;
}

async function main() {
  ensureRestic();
  mkdirSync(DEMO, { recursive: true, mode: 0o700 });
  const secrets = loadSecrets();
  saveSecrets(secrets);
  writeSample();

  const server = await startChild(
    "server",
    [BUN, join(ROOT, "server/src/main.ts"), "serve", "--listen", LISTEN, "--data-dir", paths.server],
    { RF_ADMIN_PASSWORD: secrets.admin_password },
    /listening/,
  );
  const url = `http://${LISTEN}`;
  const cli = (args: string[]) =>
    Bun.spawnSync([BUN, join(ROOT, "server/src/main.ts"), ...args, "--data-dir", paths.server])
      .stdout.toString()
      .trim();
  if (!secrets.api_token) {
    secrets.api_token = cli(["api-token", "create", "--user", "admin", "--name", "demo"]);
    saveSecrets(secrets);
  }
  const api = async <T>(path: string, method = "GET", body?: unknown): Promise<T> => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${secrets.api_token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json().catch(() => null)) as T & { error?: { message: string } };
    if (!res.ok) fail(`${method} ${path}: ${json?.error?.message ?? res.status}`);
    return json;
  };

  const agentCmd = [BUN, join(ROOT, "agent/src/main.ts")];
  const firstRun = !existsSync(join(paths.agent, "identity.json"));
  if (firstRun) {
    const token = await api<{ token: string }>("/enrollment-tokens", "POST", { uses: 1, expires_in: "1h" });
    const enroll = Bun.spawnSync([
      ...agentCmd,
      "enroll",
      "--server",
      url,
      "--token",
      token.token,
      "--state-dir",
      paths.agent,
      "--hostname",
      "demo-host",
    ]);
    if (enroll.exitCode !== 0) fail(`enroll failed: ${enroll.stderr.toString()}`);
    secrets.host_id = /host (\S+);/.exec(enroll.stdout.toString())?.[1];
    saveSecrets(secrets);
    await api(`/hosts/${secrets.host_id}/config`, "PUT", {
      repo_url: paths.repo,
      repo_password: secrets.repo_password,
    });
  }
  const agent = await startChild(
    "agent",
    [...agentCmd, "run", "--state-dir", paths.agent],
    {},
    /agent said hello|connected to server/,
  );
  if (firstRun) {
    const init = await api<{ id: string }>(`/hosts/${secrets.host_id}/jobs`, "POST", { kind: "init" });
    say(`initializing the repository in ${paths.repo} (job ${init.id})`);
    await api(`/hosts/${secrets.host_id}/schedules`, "POST", {
      kind: "backup",
      cron_expr: "* * * * *",
      paths: [paths.sample],
      tags: ["demo"],
    });
    await api(`/hosts/${secrets.host_id}/schedules`, "POST", {
      kind: "forget",
      cron_expr: "*/10 * * * *",
      retention_policy: { keep_last: 10 },
      options: { prune: true },
    });
  }

  say(`Restic Fleet is running: ${url}`);
  say(`  log in as admin / ${secrets.admin_password}`);
  say(`  API token: ${secrets.api_token}  (curl -H "Authorization: Bearer $TOKEN" ${url}/api/v1/hosts)`);
  say(`  host demo-host backs up ${paths.sample} every minute into ${paths.repo}`);
  say(`  watch it: curl -H "Authorization: Bearer ${secrets.api_token}" ${url}/api/v1/jobs`);
  say("Ctrl-C stops the server and the agent; run it again to carry on where you left off.");

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say("stopping");
    agent.kill("SIGTERM");
    await agent.exited;
    server.kill("SIGTERM");
    await server.exited;
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

await main();
