// End-to-end harness: the real server process, the real agent process (the compiled binary when
// RF_TEST_AGENT_BIN is set, else `bun agent/src/main.ts`), the real restic, and the API's own
// event stream as the signal to wait on. Nothing here sleeps to synchronize.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

const ROOT = join(import.meta.dir, "..");
const BUN = process.execPath;

let builtAgent: string | null = null;

/**
 * The end-to-end suites run the compiled agent executable: RF_TEST_AGENT_BIN when set, else
 * this machine's target built once into dist/ (`bun scripts/build-binaries.ts --single`).
 * RF_TEST_AGENT_BIN=source runs `bun agent/src/main.ts` instead, for quick iterations.
 */
export function ensureAgentBinary(): string[] {
  const bin = process.env.RF_TEST_AGENT_BIN;
  if (bin === "source") return [BUN, join(ROOT, "agent/src/main.ts")];
  if (bin) return [bin];
  if (!builtAgent) {
    const out = join(ROOT, "dist");
    const r = Bun.spawnSync([BUN, join(ROOT, "scripts/build-binaries.ts"), "--single", "--out", out]);
    if (r.exitCode !== 0) throw new Error(`building the agent failed: ${r.stderr.toString()}`);
    builtAgent = join(out, `restic-fleet-agent-linux-${process.arch === "arm64" ? "arm64" : "x64"}`);
  }
  return [builtAgent];
}

export function agentCommand(): string[] {
  return ensureAgentBinary();
}

export function serverCommand(): string[] {
  const bin = process.env.RF_TEST_SERVER_BIN;
  return bin ? [bin] : [BUN, join(ROOT, "server/src/main.ts")];
}

/** Reads a stream line by line until a line matches; returns it (the rest keeps flowing to `sink`). */
export async function waitForLine(stream: ReadableStream<Uint8Array>, match: RegExp, sink: string[]): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`process ended before printing ${match}:\n${sink.join("\n")}`);
    buffer += decoder.decode(value, { stream: true });
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      sink.push(line);
      if (match.test(line)) {
        // Keep draining in the background so the child never blocks on a full pipe.
        void (async () => {
          for (;;) {
            const r = await reader.read();
            if (r.done) return;
            sink.push(decoder.decode(r.value));
          }
        })();
        return line;
      }
      nl = buffer.indexOf("\n");
    }
  }
}

export interface Fleet {
  url: string;
  /** Stops the server (SIGTERM) and starts it again on the same port and data dir. */
  restart(between?: () => Promise<void>): Promise<void>;
  dataDir: string;
  token: string;
  serverLog: string[];
  /** SIGHUP: the server reloads its certificate; resolves once it logged the result. */
  reload(): Promise<void>;
  api<T = unknown>(path: string, method?: string, body?: unknown): Promise<{ status: number; body: T }>;
  events(): Promise<EventWatcher>;
  close(): Promise<void>;
}

/** `serverArgs` go after `serve` (e.g. `--tls self-signed`); an https fleet's own calls trust its certificate. */
export async function startFleet(
  opts: { serverArgs?: string[]; ca?: string; listen?: string; env?: Record<string, string> } = {},
): Promise<Fleet> {
  const dataDir = mkdtempSync(join(tmpdir(), "rf-e2e-server-"));
  const serverLog: string[] = [];
  // Every line the server logs wakes the waiters of `logged`.
  let waiters: Array<() => void> = [];
  const push = serverLog.push.bind(serverLog);
  serverLog.push = (...lines: string[]) => {
    const n = push(...lines);
    const w = waiters;
    waiters = [];
    for (const f of w) f();
    return n;
  };
  const logged = async (re: RegExp, from: number) => {
    while (!serverLog.slice(from).some((l) => re.test(l))) await new Promise<void>((r) => waiters.push(r));
  };
  let tls: { ca: string } | undefined;
  const spawnServer = async (listen: string) => {
    const proc = Bun.spawn(
      [...serverCommand(), "serve", "--listen", listen, "--data-dir", dataDir, ...(opts.serverArgs ?? [])],
      {
        env: { ...process.env, RF_ADMIN_PASSWORD: "e2e-admin-password", ...opts.env },
        stdout: "ignore",
        stderr: "pipe",
      },
    );
    const line = await waitForLine(proc.stderr as ReadableStream<Uint8Array>, /listening/, serverLog);
    const url = (JSON.parse(line) as { url: string }).url;
    trustServed(url);
    return { proc, url };
  };
  /** The fleet's own calls trust the certificate served now: the CA given, or the self-signed one. */
  const trustServed = (url: string) => {
    const cert = join(dataDir, "tls", "cert.pem");
    const ca = opts.ca ?? (existsSync(cert) ? cert : null);
    tls = url.startsWith("https:") && ca ? { ca: readFileSync(ca, "utf8") } : undefined;
  };
  let { proc: server, url } = await spawnServer(opts.listen ?? "127.0.0.1:0");
  const tok = Bun.spawnSync([...serverCommand(), "api-token", "create", "--user", "admin", "--data-dir", dataDir]);
  const token = tok.stdout.toString().trim();
  if (!token.startsWith("rft_")) throw new Error(`api-token create failed: ${tok.stderr.toString()}`);
  const api = async <T>(path: string, method = "GET", body?: unknown) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      ...(tls ? { tls } : {}),
    } as RequestInit);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };
  return {
    get url() {
      return url;
    },
    async restart(between) {
      server.kill("SIGTERM");
      await server.exited;
      await between?.();
      ({ proc: server, url } = await spawnServer(new URL(url).host));
    },
    dataDir,
    token,
    serverLog,
    async reload() {
      const from = serverLog.length;
      server.kill("SIGHUP");
      await logged(/reloaded the TLS certificate|kept the current certificate/, from);
      trustServed(url);
    },
    api,
    events: () => EventWatcher.open(url, token, tls),
    async close() {
      server.kill("SIGTERM");
      await server.exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface FleetEvent {
  type: string;
  job_id?: string;
  host_id?: string;
  status?: string;
  online?: boolean;
  progress?: Record<string, unknown>;
}

/** The server's SSE stream, as a list plus a way to wait for an event matching a predicate. */
export class EventWatcher {
  readonly seen: FleetEvent[] = [];
  #waiters: Array<() => void> = [];
  #ended = false;

  private constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  static async open(url: string, token: string, tls?: { ca: string }): Promise<EventWatcher> {
    const res = await fetch(`${url}/api/v1/events`, {
      headers: { Authorization: `Bearer ${token}` },
      ...(tls ? { tls } : {}),
    } as RequestInit);
    if (!res.ok || !res.body) throw new Error(`GET /api/v1/events answered ${res.status}`);
    const w = new EventWatcher(res.body.getReader());
    void w.#pump();
    await w.until((e) => e.type === "ready");
    return w;
  }

  async #pump() {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await this.reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let sep = buffer.indexOf("\n\n");
      while (sep >= 0) {
        const block = buffer.slice(0, sep);
        buffer = buffer.slice(sep + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event) this.seen.push({ ...(data ? JSON.parse(data) : {}), type: event });
        sep = buffer.indexOf("\n\n");
      }
      this.#wake();
    }
    this.#ended = true;
    this.#wake();
  }

  #wake() {
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }

  /**
   * Resolves with the first event from index `from` on (already seen or future) that matches.
   * Tests wait without a limit (bun's per-test timeout applies); the benchmarks pass one.
   */
  async until(match: (e: FleetEvent) => boolean, from = 0, timeoutMs?: number): Promise<FleetEvent> {
    const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeoutMs;
    for (;;) {
      const hit = this.seen.slice(from).find(match);
      if (hit) return hit;
      if (this.#ended) throw new Error("event stream ended");
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(left) ? setTimeout(resolve, left) : undefined;
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close() {
    void this.reader.cancel().catch(() => {});
  }
}

export interface AgentProc {
  proc: Subprocess;
  log: string[];
  stateDir: string;
  /** Resolves when the agent's log (from `from` on, in chunks) has a line matching `re`. */
  logUntil(re: RegExp, from?: number): Promise<string>;
}

let openPolicy: string | null = null;
/** A host policy file that limits nothing: the agents of tests that are not about the policy use it. */
export function openPolicyFile(): string {
  if (!openPolicy) {
    openPolicy = join(tempDir("rf-policy-"), "open-policy.json");
    writeFileSync(
      openPolicy,
      JSON.stringify({ remote_hooks: true, restore_targets: null, backup_paths: null, repositories: null }),
    );
  }
  return openPolicy;
}

/**
 * Runs `restic-fleet-agent run` in its own process group (a crash test can kill the whole group),
 * with the open policy unless `env` names RF_POLICY.
 */
export function startAgent(stateDir: string, env: Record<string, string> = {}, command = agentCommand()): AgentProc {
  const log: string[] = [];
  let waiters: Array<() => void> = [];
  let ended = false;
  const proc = Bun.spawn(["setsid", ...command, "run", "--state-dir", stateDir, "--log-level", "debug"], {
    env: { ...process.env, RF_POLICY: openPolicyFile(), ...env },
    stdout: "ignore",
    stderr: "pipe",
  });
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
      log.push(decoder.decode(chunk));
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    }
    ended = true;
    for (const f of waiters) f();
  })();
  const logUntil = async (re: RegExp, from = 0) => {
    for (;;) {
      const hit = log
        .slice(from)
        .join("")
        .split("\n")
        .find((l) => re.test(l));
      if (hit) return hit;
      if (ended) throw new Error(`the agent exited before logging ${re}:\n${log.join("")}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { proc, log, stateDir, logUntil };
}

export function runAgentCli(args: string[], env: Record<string, string> = {}, command = agentCommand()) {
  const r = Bun.spawnSync([...command, ...args], { env: { ...process.env, ...env } });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
