import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { REQUEST_ERROR_CODES } from "../../../protocol/index.ts";
import type { Actor } from "../domain/deps.ts";
import { DOWNLOAD_WINDOW } from "../domain/snapshot-download.ts";
import { ANSWER_TIMEOUT_MS } from "../domain/snapshot-files.ts";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Browse and download against the real server on a loopback port, with TestAgent (a real
// WebSocket client) answering files.list and download.start as an agent of protocol 7 would.

const SNAP = "4f3e2d1c";
let t: TestServer;
let agents: TestAgent[];

beforeEach(async () => {
  t = await startTestServer();
  agents = [];
});
afterEach(async () => {
  for (const a of agents) a.close();
  await t.close();
});

/** An enrolled host with a repository; online with an agent of `protocol` unless `offline`. */
async function host(name: string, opts: { protocol?: number; repo?: string; offline?: boolean } = {}) {
  const h = await t.enroll(name);
  await t.json(`/api/v1/hosts/${h.host_id}/config`, {
    method: "PUT",
    body: { repo_url: opts.repo ?? "/srv/repo", repo_password: "pw" },
  });
  if (opts.offline) return { id: h.host_id as string, agent: null as unknown as TestAgent };
  const agent = await TestAgent.connect(t.url, h.agent_token);
  agents.push(agent);
  await agent.hello(opts.protocol ?? 7, { hostname: name, resticHost: name });
  return { id: h.host_id as string, agent };
}

const files = (id: string, query: string) => `/api/v1/hosts/${id}/snapshots/${SNAP}/files?${query}`;
const download = (id: string, query: string) => `/api/v1/hosts/${id}/snapshots/${SNAP}/download?${query}`;

const admin = () => t.server.domain.auth.apiTokenActor(t.adminToken) as NonNullable<Actor>;

async function viewerToken(): Promise<string> {
  const user = await t.server.domain.auth.createUser("vera", "viewer-password", "viewer", null);
  return t.server.domain.auth.createApiToken({ user_id: user.id, username: "vera", role: "viewer" }, "tests").token;
}

describe("browse", () => {
  test("bad input is refused before any agent is asked, naming what is wrong", async () => {
    const a = await host("web-01");
    for (const [query, field, words] of [
      ["path=/srv/../etc", "path", "'..'"],
      ["path=srv/www", "path", "absolute"],
      ["path=%2Fsrv%0Aetc", "path", "control"],
      ["", "path", "absolute path"],
      ["path=/srv&limit=0", "limit", "1-1000"],
      ["path=/srv&limit=1001", "limit", "1-1000"],
      ["path=/srv&cursor=abc", "cursor", "next_cursor"],
    ] as const) {
      const r = await t.json(files(a.id, query));
      expect(r.status).toBe(400);
      expect(r.body.error.path).toBe(field);
      expect(r.body.error.message).toContain(words);
    }
    const badSnap = await t.json(`/api/v1/hosts/${a.id}/snapshots/nothex!/files?path=/`);
    expect(badSnap).toMatchObject({ status: 400, body: { error: { path: "snapshot_id" } } });
    expect((await t.json(files("host_nope", "path=/"))).status).toBe(404);
    expect(a.agent.of("files.list")).toEqual([]);
  });

  test("an offline host, an old agent, a via host of another repository: 409 saying what to do", async () => {
    const off = await host("web-off", { offline: true });
    const r = await t.json(files(off.id, "path=/srv"));
    expect(r.status).toBe(409);
    expect(r.body.error.message).toBe(
      `host ${off.id} is offline: browsing asks its agent; start the agent, or name an online host of the same repository with via_host_id`,
    );
    const old = await host("web-old", { protocol: 6 });
    const o = await t.json(files(old.id, "path=/srv"));
    expect(o.status).toBe(409);
    expect(o.body.error.message).toContain("upgrade the agent");
    const other = await host("web-other", { repo: "/srv/other-repo" });
    const v = await t.json(files(off.id, `path=/srv&via_host_id=${other.id}`));
    expect(v.status).toBe(409);
    expect(v.body.error).toMatchObject({ path: "via_host_id" });
    expect(v.body.error.message).toContain(`via host ${other.id} backs up to another repository`);
    expect((await t.json(files(off.id, "path=/srv&via_host_id=host_nope"))).status).toBe(404);
  });

  test("one page, then the next by its cursor; a via host serves an offline host's snapshot", async () => {
    const a = await host("web-01");
    const pending = t.json(files(a.id, "path=/srv/www/&limit=2"));
    const ask = await a.agent.next("files.list");
    // Trailing slash dropped; this host's own snapshot: no source_host.
    expect(ask.payload).toMatchObject({ snapshot_id: SNAP, path: "/srv/www", offset: 0, limit: 2 });
    expect(ask.payload.source_host).toBeUndefined();
    a.agent.send("files.listed", {
      request_id: ask.payload.request_id,
      snapshot_id: `${SNAP}aa`,
      total: 3,
      items: [
        { name: "a.html", path: "/srv/www/a.html", type: "file", size: 5, mtime: "2026-11-30T10:00:00Z" },
        { name: "link", path: "/srv/www/link", type: "symlink", size: 0, link_target: "a.html" },
      ],
    });
    const first = await pending;
    expect(first).toMatchObject({ status: 200, body: { next_cursor: "2", total: 3, snapshot_id: `${SNAP}aa` } });
    expect(first.body.items[1]).toEqual({
      name: "link",
      path: "/srv/www/link",
      type: "symlink",
      size: 0,
      mtime: null,
      link_target: "a.html",
    });
    const second = t.json(files(a.id, `path=/srv/www&limit=2&cursor=${first.body.next_cursor}`));
    const ask2 = await a.agent.next("files.list", 1);
    expect(ask2.payload).toMatchObject({ offset: 2, limit: 2 });
    a.agent.send("files.listed", {
      request_id: ask2.payload.request_id,
      total: 3,
      items: [{ name: "z", path: "/srv/www/z", type: "dir", size: 0 }],
    });
    expect((await second).body).toMatchObject({ next_cursor: null, total: 3, items: [{ name: "z" }] });

    // A host that is gone: web-02, on the same repository, lists web-gone's snapshot by its name.
    const gone = await host("web-gone", { offline: true });
    const b = await host("web-02");
    const viaAsk = t.json(files(gone.id, `path=/&via_host_id=${b.id}`));
    const fromB = await b.agent.next("files.list");
    expect(fromB.payload).toMatchObject({ path: "/", source_host: "web-gone" });
    b.agent.send("files.listed", { request_id: fromB.payload.request_id, total: 0, items: [] });
    expect((await viaAsk).body).toEqual({ items: [], next_cursor: null, total: 0, snapshot_id: SNAP });
  });

  test("each agent error code maps to its status, with the agent's reason", async () => {
    const a = await host("web-01");
    const expected: Record<(typeof REQUEST_ERROR_CODES)[number], number> = {
      snapshot_missing: 404,
      path_missing: 404,
      not_a_directory: 400,
      other_host: 409,
      policy: 403,
      busy: 503,
      cancelled: 502,
      no_repository: 409,
      failed: 502,
    };
    let n = 0;
    for (const code of REQUEST_ERROR_CODES) {
      const pending = t.api(files(a.id, "path=/srv"));
      const ask = await a.agent.next("files.list", n++);
      a.agent.send("files.listed", { request_id: ask.payload.request_id, error: { code, message: `why ${code}` } });
      const res = await pending;
      const body = await res.json();
      expect([code, res.status]).toEqual([code, expected[code]]);
      expect(body.error.message).toContain(`answered ${code}: why ${code}`);
      if (code === "busy") expect(res.headers.get("retry-after")).toBe("5");
    }
  });

  test("no answer in 30 s is 504; an answer after that, or to no request, is dropped quietly", async () => {
    const a = await host("web-01");
    const pending = t.json(files(a.id, "path=/srv"));
    const ask = await a.agent.next("files.list");
    t.clock.advance(ANSWER_TIMEOUT_MS - 1);
    t.server.sweep();
    expect(t.server.domain.snapshotFiles.waiting()).toBe(1);
    t.clock.advance(2);
    t.server.sweep();
    const r = await pending;
    expect(r.status).toBe(504);
    expect(r.body.error.message).toContain("did not answer the browse within 30 s");
    const late = a.agent.send("files.listed", { request_id: ask.payload.request_id, total: 0, items: [] });
    a.agent.send("files.listed", { request_id: "req_unknown", total: 0, items: [] });
    // Live answers are never acked nor refused; a heartbeat after them shows the server took them.
    const hb = a.agent.send("heartbeat", { sent_at: new Date().toISOString() });
    await a.agent.acked(hb);
    expect(a.agent.of("ack").flatMap((m) => m.payload.ids)).not.toContain(late);
    expect(a.agent.of("error")).toEqual([]);
  });

  test("the agent disconnecting fails its pending browse (502)", async () => {
    const a = await host("web-01");
    const pending = t.json(files(a.id, "path=/srv"));
    await a.agent.next("files.list");
    a.agent.close();
    const r = await pending;
    expect(r.status).toBe(502);
    expect(r.body.error.message).toContain("went away during the browse");
  });

  test("a viewer may browse but not download", async () => {
    const a = await host("web-01");
    const token = await viewerToken();
    const pending = t.json(files(a.id, "path=/"), { token });
    const ask = await a.agent.next("files.list");
    a.agent.send("files.listed", { request_id: ask.payload.request_id, total: 0, items: [] });
    expect((await pending).status).toBe(200);
    const d = await t.json(download(a.id, "path=/srv/db.sql"), { token });
    expect(d.status).toBe(403);
    expect(d.body.error.message).toContain("admin role");
    expect(a.agent.of("download.start")).toEqual([]);
  });
});

/** Reads a whole body, or the error that ended it. */
async function readAll(res: Response): Promise<{ bytes: Buffer; error: unknown }> {
  const parts: Uint8Array[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return { bytes: Buffer.concat(parts), error: null };
      parts.push(value);
    }
  } catch (error) {
    return { bytes: Buffer.concat(parts), error };
  }
}

/**
 * Plays an agent's side of one download: begin, then `chunks` (each `size` bytes of `fill`) as
 * credit allows, then end. Records the most chunks it ever had sent and not yet credited.
 */
async function serve(
  agent: TestAgent,
  opts: { n?: number; chunks: number; size: number; type?: "file" | "dir"; name?: string; endBytes?: number },
) {
  const start = await agent.next("download.start", opts.n ?? 0);
  const id = start.payload.request_id;
  const total = opts.chunks * opts.size;
  agent.send("download.begin", {
    request_id: id,
    type: opts.type ?? "file",
    name: opts.name ?? "db.sql",
    ...(opts.type === "dir" ? {} : { size: total }),
  });
  const credits = () =>
    agent
      .of("download.credit")
      .filter((c) => c.payload.request_id === id)
      .reduce((s, c) => s + c.payload.chunks, 0);
  let maxOutstanding = 0;
  for (let seq = 0; seq < opts.chunks; seq++) {
    await agent.until(() => seq < start.payload.window + credits(), `credit for chunk ${seq}`);
    agent.sendChunk(id, seq, Buffer.alloc(opts.size, seq % 251));
    maxOutstanding = Math.max(maxOutstanding, seq + 1 - credits());
  }
  agent.send("download.end", { request_id: id, bytes: opts.endBytes ?? total, exit_code: 0 });
  return { start, maxOutstanding };
}

describe("download", () => {
  test("a file streams with credit flow control: never more than the window outstanding", async () => {
    const a = await host("web-01");
    const res = t.api(download(a.id, "path=/srv/db.sql"));
    const agentSide = serve(a.agent, { chunks: 100, size: 64 * 1024 });
    const r = await res;
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/octet-stream");
    // Bun 1.4 drops a handler's Content-Length on a stream body and sends it chunked (oven-sh/bun#10507).
    expect([null, String(100 * 64 * 1024)]).toContain(r.headers.get("content-length"));
    expect(r.headers.get("content-disposition")).toBe(`attachment; filename="db.sql"; filename*=UTF-8''db.sql`);
    const { bytes, error } = await readAll(r);
    const { start, maxOutstanding } = await agentSide;
    expect(error).toBeNull();
    expect(bytes.length).toBe(100 * 64 * 1024);
    expect(bytes[64 * 1024 * 99]).toBe(99);
    expect(start.payload).toMatchObject({ snapshot_id: SNAP, path: "/srv/db.sql", window: DOWNLOAD_WINDOW });
    expect(maxOutstanding).toBeLessThanOrEqual(DOWNLOAD_WINDOW);
    // The server credits only what it passed on: every chunk, and not one more.
    const credited = a.agent.of("download.credit").reduce((s, c) => s + c.payload.chunks, 0);
    expect(credited).toBe(100);
    // Audited, with what was asked and nothing secret.
    const log = await t.json("/api/v1/audit-log?limit=5");
    const entry = log.body.items.find((e: { action: string }) => e.action === "snapshot.download");
    expect(entry).toMatchObject({ target: a.id, detail: { snapshot_id: SNAP, path: "/srv/db.sql" } });
  });

  test("nothing is credited while the client does not read", async () => {
    const a = await host("web-01");
    const r = t.server.domain.snapshotFiles.download(admin(), { hostId: a.id, snapshotId: SNAP, path: "/srv/db.sql" });
    const start = await a.agent.next("download.start");
    const id = start.payload.request_id;
    a.agent.send("download.begin", { request_id: id, type: "file", name: "db.sql", size: 16 * 10 });
    for (let seq = 0; seq < DOWNLOAD_WINDOW; seq++) {
      a.agent.sendChunk(id, seq, Buffer.alloc(10, 1));
    }
    const head = await r;
    const hb = a.agent.send("heartbeat", { sent_at: new Date().toISOString() });
    await a.agent.acked(hb);
    expect(a.agent.of("download.credit")).toEqual([]);
    const reader = head.body.getReader();
    await reader.read();
    await reader.read();
    const credits = await a.agent.until(() => {
      const c = a.agent.of("download.credit");
      return c.length === 2 && c;
    }, "two credits");
    expect(credits.map((c) => c.payload)).toEqual([
      { request_id: id, chunks: 1 },
      { request_id: id, chunks: 1 },
    ]);
    await reader.cancel();
    await a.agent.next("download.cancel");
  });

  test("an agent that sends beyond its window fails the stream and is told to stop", async () => {
    const a = await host("web-01");
    const r = t.server.domain.snapshotFiles.download(admin(), { hostId: a.id, snapshotId: SNAP, path: "/srv/x" });
    const start = await a.agent.next("download.start");
    const id = start.payload.request_id;
    a.agent.send("download.begin", { request_id: id, type: "dir", name: "x" });
    for (let seq = 0; seq <= DOWNLOAD_WINDOW; seq++) {
      a.agent.sendChunk(id, seq, Buffer.alloc(10));
    }
    const head = await r;
    expect((await a.agent.next("download.cancel")).payload.request_id).toBe(id);
    const reader = head.body.getReader();
    await expect(reader.read()).rejects.toThrow(`more than its window of ${DOWNLOAD_WINDOW} chunks`);
    expect(a.agent.of("download.credit")).toEqual([]);
  });

  test("a directory comes as <name>.tar; a non-ASCII name gets a safe fallback and filename*", async () => {
    const a = await host("web-01");
    const res = t.api(download(a.id, "path=/srv/caf%C3%A9%20%22x%22"));
    const agentSide = serve(a.agent, { chunks: 3, size: 1000, type: "dir", name: 'café "x"' });
    const r = await res;
    expect(r.headers.get("content-type")).toBe("application/x-tar");
    expect(r.headers.get("content-length")).toBeNull();
    expect(r.headers.get("content-disposition")).toBe(
      `attachment; filename="cafe_ _x_.tar"; filename*=UTF-8''caf%C3%A9%20%22x%22.tar`,
    );
    expect((await readAll(r)).bytes.length).toBe(3000);
    await agentSide;
  });

  test("a refused begin answers the mapped status with a JSON error", async () => {
    const a = await host("web-01");
    const res = t.api(download(a.id, "path=/srv/nope"));
    const start = await a.agent.next("download.start");
    a.agent.send("download.begin", {
      request_id: start.payload.request_id,
      error: { code: "path_missing", message: "/srv/nope is not in snapshot 4f3e2d1c" },
    });
    const r = await res;
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toContain("application/json");
    expect((await r.json()).error.message).toContain("/srv/nope is not in snapshot");
  });

  test("the client going away sends download.cancel", async () => {
    const a = await host("web-01");
    const abort = new AbortController();
    const res = await (async () => {
      const p = fetch(`${t.url}${download(a.id, "path=/srv/big")}`, {
        headers: { Authorization: `Bearer ${t.adminToken}` },
        signal: abort.signal,
      });
      const start = await a.agent.next("download.start");
      const id = start.payload.request_id;
      a.agent.send("download.begin", { request_id: id, type: "file", name: "big", size: 1 << 30 });
      a.agent.sendChunk(id, 0, Buffer.alloc(1000));
      return { r: await p, id };
    })();
    const reader = (res.r.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    abort.abort();
    const cancel = await a.agent.next("download.cancel");
    expect(cancel.payload.request_id).toBe(res.id);
  });

  test("the agent disconnecting mid-stream, failing part way, or miscounting fails the transfer", async () => {
    for (const ending of ["disconnect", "error", "short", "silent"] as const) {
      const a = await host(`web-${ending}`);
      const res = t.api(download(a.id, "path=/srv/db.sql"));
      const start = await a.agent.next("download.start");
      const id = start.payload.request_id;
      const size = 4 * 1000;
      // Without a size (a directory's tar) there is no Content-Length to catch a short body.
      a.agent.send("download.begin", { request_id: id, type: "dir", name: "db" });
      for (let seq = 0; seq < 2; seq++) {
        a.agent.sendChunk(id, seq, Buffer.alloc(1000, 7));
      }
      const r = await res;
      expect(r.status).toBe(200);
      const reading = readAll(r);

      if (ending === "disconnect") a.agent.close();
      if (ending === "error") {
        a.agent.send("download.end", {
          request_id: id,
          bytes: 2000,
          error: { code: "failed", message: "restic died" },
        });
      }
      if (ending === "short") a.agent.send("download.end", { request_id: id, bytes: size });
      if (ending === "silent") {
        // The client waits on a chunk that never comes: 30 s on the server's clock, then the stream fails.
        await a.agent.until(() => a.agent.of("download.credit").length >= 2, "credits for what was read");
        // A bounded poll on the server's own state: the stream's pull is waiting for a chunk.
        for (let i = 0; i < 1000 && t.server.domain.snapshotFiles.waiting() === 0; i++) await Bun.sleep(1);
        expect(t.server.domain.snapshotFiles.waiting()).toBe(1);
        t.clock.advance(ANSWER_TIMEOUT_MS + 1);
        t.server.sweep();
      }
      const { error } = await reading;
      expect([ending, error]).not.toEqual([ending, null]);
      if (ending === "silent") await a.agent.next("download.cancel");
      if (ending !== "disconnect") a.agent.close();
    }
  });
});

describe("restore", () => {
  test("verify: false reaches the agent's command.run; absent, the spec carries none (the agent verifies)", async () => {
    const a = await host("web-01");
    const off = await t.json(`/api/v1/hosts/${a.id}/jobs`, {
      method: "POST",
      body: { kind: "restore", spec: { snapshot_id: SNAP, target: "/srv/restore", verify: false } },
    });
    expect(off.status).toBe(201);
    const run = await a.agent.next("command.run");
    expect(run.payload).toMatchObject({ kind: "restore", spec: { snapshot_id: SNAP, verify: false } });
    await t.json(`/api/v1/hosts/${a.id}/jobs`, {
      method: "POST",
      body: { kind: "restore", spec: { snapshot_id: SNAP, target: "/srv/restore" } },
    });
    const run2 = await a.agent.next("command.run", 1);
    expect((run2.payload as { spec: Record<string, unknown> }).spec.verify).toBeUndefined();
    const bad = await t.json(`/api/v1/hosts/${a.id}/jobs`, {
      method: "POST",
      body: { kind: "restore", spec: { snapshot_id: SNAP, target: "/srv/restore", verify: "no" } },
    });
    expect(bad).toMatchObject({ status: 400, body: { error: { path: "spec.verify" } } });
  });

  test("another host's snapshot: an unknown source host or one of another repository is refused, naming it", async () => {
    const a = await host("web-01");
    const other = await host("web-other", { repo: "/srv/other-repo" });
    const restore = (source: string) =>
      t.json(`/api/v1/hosts/${a.id}/jobs`, {
        method: "POST",
        body: { kind: "restore", spec: { snapshot_id: SNAP, target: "/srv/restore", source_host_id: source } },
      });
    const unknown = await restore("host_nope");
    expect(unknown).toMatchObject({ status: 404, body: { error: { path: "spec.source_host_id" } } });
    expect(unknown.body.error.message).toContain("source host host_nope not found");
    const elsewhere = await restore(other.id);
    expect(elsewhere).toMatchObject({ status: 409, body: { error: { path: "spec.source_host_id" } } });
    expect(elsewhere.body.error.message).toContain("another repository");
  });
});
