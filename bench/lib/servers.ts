// Starting the processes under test: the real server (compiled), and the bare baselines. Each
// prints a JSON log line with "listening" and its URL on stderr; we wait for it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { Binaries } from "./build.ts";
import { stopProcess, track } from "./cleanup.ts";

export interface Served {
  proc: Subprocess<"ignore", "ignore", "pipe">;
  pid: number;
  url: string;
  port: number;
  /** The last stderr lines, for error messages. */
  log: string[];
  /** The certificate (PEM) that clients must trust, when the server serves TLS (its url is https://). */
  ca?: string;
  stop(): Promise<void>;
}

/** fetch, trusting the server's own certificate when it serves TLS. */
export function fetchTrusting(ca: string | undefined, url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, ca ? ({ ...init, tls: { ca } } as RequestInit) : init);
}

const LOG_LINES = 300;

async function drain(stream: ReadableStream<Uint8Array>, log: string[], onLine: (line: string) => void) {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      log.push(line);
      if (log.length > LOG_LINES) log.splice(0, log.length - LOG_LINES);
      onLine(line);
      nl = buffer.indexOf("\n");
    }
  }
}

/** Spawns a server and resolves once it logged that it listens. */
export async function startListening(
  cmd: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Served> {
  const log: string[] = [];
  const proc = track(
    Bun.spawn(cmd, { env: { ...process.env, ...opts.env }, stdin: "ignore", stdout: "ignore", stderr: "pipe" }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`${cmd[0]} did not start within ${opts.timeoutMs ?? 30_000} ms:\n${log.join("\n")}`));
    }, opts.timeoutMs ?? 30_000);
    void drain(proc.stderr, log, (line) => {
      if (!line.includes("listening")) return;
      try {
        const parsed = JSON.parse(line) as { url?: string };
        if (parsed.url) {
          clearTimeout(timer);
          resolve(parsed.url);
        }
      } catch {
        // Not the JSON line we wait for.
      }
    });
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd[0]} exited with ${code} before listening:\n${log.join("\n")}`));
    });
  });
  return { proc, pid: proc.pid, url, port: Number(new URL(url).port), log, stop: () => stopProcess(proc) };
}

export const dbPath = (dataDir: string) => join(dataDir, "restic-fleet.db");

/** Where `--tls self-signed` keeps its certificate (made once, on the first TLS start). */
export const selfSignedCertPath = (dataDir: string) => join(dataDir, "tls", "cert.pem");

/**
 * The real server, compiled, on a data directory; port 0 picks a free one. With `tls`, it serves
 * HTTPS and wss:// with its own self-signed certificate for 127.0.0.1, whose PEM is `served.ca`.
 */
export async function startFleetServer(
  bins: Binaries,
  dataDir: string,
  port = 0,
  opts: { tls?: boolean } = {},
): Promise<Served> {
  const cmd = [bins.server, "serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir];
  if (opts.tls) cmd.push("--tls", "self-signed", "--tls-name", "127.0.0.1");
  const served = await startListening(cmd);
  if (opts.tls) {
    if (!served.url.startsWith("https://")) {
      await served.stop();
      throw new Error(`--tls self-signed: the server listens on ${served.url}, not https://`);
    }
    served.ca = readFileSync(selfSignedCertPath(dataDir), "utf8");
  }
  return served;
}

export function startBareWs(bins: Binaries, port = 0): Promise<Served> {
  return startListening([bins.bareWs, String(port)]);
}

export function startBareApi(bins: Binaries, dataDir: string, port = 0): Promise<Served> {
  return startListening([bins.bareApi, dbPath(dataDir), String(port)]);
}

const ADMIN_PASSWORD = "bench-admin-password";

/**
 * A fresh data directory with the schema, an admin user and an API token, made with the server's
 * own headless commands (so the schema is whatever the current migrations say).
 */
export async function initDataDir(bins: Binaries, dataDir: string): Promise<{ token: string }> {
  // The headless commands refuse a directory without a database (a typo must not make a new
  // fleet), so the server makes it once, with its admin, as on a real first start.
  const first = await startListening([bins.server, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir], {
    env: { RF_ADMIN_PASSWORD: ADMIN_PASSWORD },
  });
  await first.stop();
  const run = (args: string[]) => {
    const r = Bun.spawnSync([bins.server, ...args, "--data-dir", dataDir], {
      env: { ...process.env, RF_PASSWORD: ADMIN_PASSWORD },
      stdin: "ignore",
    });
    if (r.exitCode !== 0) throw new Error(`restic-fleet-server ${args.join(" ")} failed: ${r.stderr.toString()}`);
    return r.stdout.toString().trim();
  };
  const token = run(["api-token", "create", "--user", "admin", "--name", "bench"]);
  if (!token.startsWith("rft_")) throw new Error(`api-token create printed no token: ${token}`);
  return { token };
}

/** An HTTP client for the API with the bench's token (trusting `ca`, for a server on TLS). */
export function apiClient(baseUrl: string, token: string, ca?: string) {
  return async <T = unknown>(path: string, method = "GET", body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetchTrusting(ca, `${baseUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed as T };
  };
}

export type Api = ReturnType<typeof apiClient>;

/** Polls GET url until it answers 200; resolves with the ms it took from `since`. */
export async function waitHttpOk(url: string, since: number, timeoutMs = 30_000, ca?: string): Promise<number> {
  for (;;) {
    try {
      const res = await fetchTrusting(ca, url);
      await res.arrayBuffer();
      if (res.ok) return performance.now() - since;
    } catch {
      // Not listening yet.
    }
    if (performance.now() - since > timeoutMs) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await Bun.sleep(2);
  }
}
