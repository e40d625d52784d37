import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AgentMessageType,
  decodeServerMessage,
  encode,
  encodeChunkFrame,
  type PayloadOf,
  type ServerMessage,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "../../../protocol/index.ts";
import { ManualClock } from "../clock.ts";
import type { Settings } from "../domain/settings.ts";
import type { AgentRelease } from "../gateway/gateway.ts";
import { silentLogger } from "../log.ts";
import { type RunningServer, startServer } from "../server.ts";

/** A real server on a random loopback port, over a temp data dir, with a manual clock. */
export interface TestServer {
  server: RunningServer;
  url: string;
  clock: ManualClock;
  dataDir: string;
  adminToken: string;
  api(
    path: string,
    init?: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> },
  ): Promise<Response>;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are read ad hoc
  json<T = any>(
    path: string,
    init?: { method?: string; body?: unknown; token?: string | null },
  ): Promise<{ status: number; body: T }>;
  enroll(hostname?: string): Promise<{ host_id: string; agent_token: string }>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestServer(
  opts: {
    dataDir?: string;
    clock?: ManualClock;
    agentRelease?: AgentRelease;
    trustedProxies?: string[];
    settings?: Partial<Settings>;
  } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "rf-server-"));
  const clock = opts.clock ?? new ManualClock(new Date());
  const start = () =>
    startServer({
      dataDir,
      hostname: "127.0.0.1",
      port: 0,
      log: silentLogger,
      clock,
      sweepIntervalMs: 3_600_000,
      agentRelease: opts.agentRelease ?? null,
      settings: opts.settings ?? {},
      trustedProxies: opts.trustedProxies ?? [],
    });
  let server = start();
  let adminToken = "";
  const t: TestServer = {
    get server() {
      return server;
    },
    get url() {
      return server.url;
    },
    clock,
    dataDir,
    get adminToken() {
      return adminToken;
    },
    api(path, init = {}) {
      const token = init.token === undefined ? adminToken : init.token;
      const headers: Record<string, string> = { ...(init.headers ?? {}) };
      if (token) headers.Authorization = `Bearer ${token}`;
      const typed = Object.keys(headers).some((k) => k.toLowerCase() === "content-type");
      if (init.body !== undefined && !typed) headers["Content-Type"] = "application/json";
      return fetch(`${server.url}${path}`, {
        method: init.method ?? "GET",
        headers,
        body:
          init.body === undefined ? undefined : typeof init.body === "string" ? init.body : JSON.stringify(init.body),
      });
    },
    async json(path, init) {
      const res = await t.api(path, init);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async enroll(hostname = "web-01") {
      const tok = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: { uses: 1 } });
      const res = await t.json("/api/v1/agent/enroll", {
        method: "POST",
        body: { token: tok.body.token, hostname },
        token: null,
      });
      if (res.status !== 201) throw new Error(`enroll failed: ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async restart() {
      await server.stop();
      server = start();
    },
    async close() {
      await server.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (server.store.countUsers() === 0) {
    const user = await server.domain.auth.createUser("admin", "admin-password", "admin", null);
    adminToken = server.domain.auth.createApiToken(
      { user_id: user.id, username: "admin", role: "admin" },
      "tests",
    ).token;
  }
  return t;
}

/** A real WebSocket agent client that records what the server sends; waits on arrivals, never sleeps. */
export class TestAgent {
  readonly received: ServerMessage[] = [];
  readonly invalid: string[] = [];
  closed: { code: number; reason: string } | null = null;
  #waiters: Array<() => void> = [];
  #ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, token: string | null) {
    const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
    this.#ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/v1/agent/ws`, { headers } as never);
    this.opened = new Promise((resolve, reject) => {
      this.#ws.addEventListener("open", () => resolve());
      this.#ws.addEventListener("error", () => reject(new Error("websocket failed to open")));
    });
    this.#ws.addEventListener("message", (e) => {
      const d = decodeServerMessage(String(e.data));
      if (d.ok) this.received.push(d.message);
      else this.invalid.push(String(e.data));
      this.#wake();
    });
    this.#ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.#wake();
    });
  }

  static async connect(url: string, token: string): Promise<TestAgent> {
    const a = new TestAgent(url, token);
    await a.opened;
    return a;
  }

  #wake() {
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }

  /** Resolves once the predicate holds on what has arrived (checked after each arrival). */
  async until<T>(check: () => T | undefined | null | false, what = "condition"): Promise<T> {
    for (;;) {
      const v = check();
      if (v) return v;
      if (this.closed)
        throw new Error(`connection closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** The n-th (0-based) message of a type, waiting for it. */
  next<T extends ServerMessage["type"]>(type: T, n = 0): Promise<Extract<ServerMessage, { type: T }>> {
    return this.until(() => this.of(type)[n], type);
  }

  of<T extends ServerMessage["type"]>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.received.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }

  /** Waits until the server has acked every one of these envelope ids. */
  acked(...ids: string[]) {
    return this.until(
      () => {
        const done = new Set(this.of("ack").flatMap((a) => a.payload.ids));
        return ids.every((id) => done.has(id));
      },
      `ack of ${ids.join(", ")}`,
    );
  }

  waitClosed() {
    return this.until(() => this.closed, "close");
  }

  sendRaw(text: string) {
    this.#ws.send(text);
  }

  /** A download chunk, as the agent sends it: one binary frame (protocol/chunk-frame.ts). */
  sendChunk(requestId: string, seq: number, bytes: Uint8Array): void {
    this.#ws.send(encodeChunkFrame(requestId, seq, bytes));
  }

  send<T extends AgentMessageType>(type: T, payload: PayloadOf<T>, id?: string): string {
    const frame = encode(type, payload, id ? { id } : {});
    this.#ws.send(frame);
    return JSON.parse(frame).id;
  }

  /**
   * A hello of this protocol version; version 2 and later carry `resticHost` (default web-01),
   * version 3 and later `activeJobIds` and `timezone` when given. Returns the server's
   * schedule.set answer (null for a version the server refuses).
   */
  async hello(
    version = 1,
    opts: { hostname?: string; resticHost?: string; activeJobIds?: string[]; timezone?: string } = {},
  ) {
    this.send("hello", {
      protocol_version: version,
      agent_version: "0.1.0-test",
      restic_version: "0.14.0",
      hostname: opts.hostname ?? "web-01",
      os: "linux",
      arch: "amd64",
      ...(version >= 2 ? { restic_host: opts.resticHost ?? "web-01" } : {}),
      ...(version >= 3 && opts.activeJobIds ? { active_job_ids: opts.activeJobIds } : {}),
      ...(version >= 3 && opts.timezone ? { timezone: opts.timezone } : {}),
    });
    return SUPPORTED_PROTOCOL_VERSIONS.includes(version) ? await this.next("schedule.set") : null;
  }

  /**
   * A backup this agent ran on its own authority while the server was away (protocol 10, DESIGN
   * §8.7), as a protocol 10 agent reports it after reconnecting: job.started with its tick, then
   * job.finished, both acked. Say hello(10) first.
   */
  async ranOnItsOwn(job: {
    jobId: string;
    scheduleId: string;
    scheduledAt: string;
    status?: "succeeded" | "failed";
    finishedAt?: string;
  }): Promise<void> {
    const status = job.status ?? "succeeded";
    await this.acked(
      this.send("job.started", {
        job_id: job.jobId,
        kind: "backup",
        started_at: job.scheduledAt,
        autonomous: { schedule_id: job.scheduleId, scheduled_at: job.scheduledAt },
      }),
      this.send("job.finished", {
        job_id: job.jobId,
        status,
        exit_code: status === "succeeded" ? 0 : 1,
        finished_at: job.finishedAt ?? job.scheduledAt,
        ...(status === "failed" ? { error: "repository locked" } : {}),
      }),
    );
  }

  close() {
    this.#ws.close();
  }
}
