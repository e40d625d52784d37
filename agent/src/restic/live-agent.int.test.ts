import { afterAll, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeAgentMessage, decodeChunkFrame, encode, isChunkFrame } from "../../../protocol/index.ts";
import { Agent } from "../agent.ts";
import { realClock } from "../clock.ts";
import { Redactor, silentLogger } from "../log.ts";
import { StateStore } from "../state/state-store.ts";
import { PASSWORD, RESTIC, randomTree, restic, sandbox } from "../testing/int-helpers.ts";
import { OPEN_POLICY } from "../testing/open-policy.ts";
import { CHUNK_BYTES } from "./download.ts";
import { bunSpawn } from "./spawn.ts";
import type { ChildLike, SpawnFn } from "./types.ts";

/**
 * The real Agent, the real restic (0.14 and 0.18 through RF_TEST_RESTIC) and a scripted server on a
 * real WebSocket: a browse and a download answered live over the socket, each credit sent by the
 * server reaching the running download through the agent's one-at-a-time message loop, and a
 * link that drops in the middle of a download stopping its restic.
 */

const sb = await sandbox({ init: true });
const stateDir = await mkdtemp(join(tmpdir(), "rf-live-agent-"));
afterAll(() => Promise.all([sb.cleanup(), rm(stateDir, { recursive: true, force: true })]));

test(`browse and download through the Agent's message loop, with ${RESTIC}`, async () => {
  const site = join(sb.data, "site");
  await mkdir(site, { recursive: true });
  await writeFile(join(site, "hello.txt"), "hello\n");
  await randomTree(join(site, "bin"), 3 * CHUNK_BYTES + 1000, 1);
  expect((await restic(sb, ["backup", "--json", "--host=live-host", site])).code).toBe(0);
  const bigPath = join(site, "bin", "blob-0.bin");

  let conn = 0;
  const got: Array<{ conn: number; type: string; payload: Record<string, unknown> }> = [];
  const waiters: Array<() => void> = [];
  const until = async (f: () => boolean) => {
    while (!f()) await new Promise<void>((r) => waiters.push(r));
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req, s) {
      return s.upgrade(req) ? undefined : new Response("no", { status: 400 });
    },
    websocket: {
      open(ws) {
        conn++;
        if (conn > 1) return;
        ws.send(encode("config.update", { repo_url: sb.repoUrl, repo_password: PASSWORD }));
        ws.send(encode("files.list", { request_id: "ls1", snapshot_id: "latest", path: site }));
        // Window 1: every chunk after the first waits for the server's credit.
        ws.send(encode("download.start", { request_id: "dl1", snapshot_id: "latest", path: bigPath, window: 1 }));
      },
      message(ws, data) {
        // A chunk is a binary frame (protocol/chunk-frame.ts); everything else JSON text.
        const d = isChunkFrame(data) ? decodeChunkFrame(data) : decodeAgentMessage(String(data));
        if (!d.ok) return;
        const payload = d.message.payload as Record<string, unknown>;
        got.push({ conn, type: d.message.type, payload });
        if (d.message.type === "download.chunk" && payload.request_id === "dl1") {
          ws.send(encode("download.credit", { request_id: "dl1", chunks: 1 }));
        }
        if (d.message.type === "download.end" && payload.request_id === "dl1") {
          // The second download gets no credit at all, and the link drops after its first chunk.
          ws.send(encode("download.start", { request_id: "dl2", snapshot_id: "latest", path: bigPath, window: 1 }));
        }
        if (d.message.type === "download.chunk" && payload.request_id === "dl2") ws.close(1011, "drop");
        for (const w of waiters.splice(0)) w();
      },
    },
  });
  const state = await StateStore.open(stateDir, { log: silentLogger });
  await state.setIdentity({
    server_url: `http://127.0.0.1:${server.port}/`,
    host_id: "host_1",
    agent_token: "rfa_tok",
    restic_host: "live-host",
  });
  await state.settled();
  const children: Array<{ argv: string[]; child: ChildLike }> = [];
  const spawn: SpawnFn = (argv, opts) => {
    const child = bunSpawn(argv, opts);
    children.push({ argv, child });
    return child;
  };
  const agent = await Agent.open({
    stateDir,
    resticPath: RESTIC,
    policy: OPEN_POLICY,
    clock: realClock,
    log: silentLogger,
    redactor: new Redactor(),
    version: "0.1.0",
    spawn,
  });
  if (!agent) throw new Error("agent not enrolled");
  const stop = new AbortController();
  const running = agent.run(stop.signal);
  try {
    await until(() => got.some((g) => g.type === "download.chunk" && g.payload.request_id === "dl2"));
    const listed = got.find((g) => g.type === "files.listed")?.payload;
    expect(listed?.error).toBeUndefined();
    expect(((listed?.items ?? []) as Array<{ name: string }>).map((i) => i.name)).toEqual(["bin", "hello.txt"]);
    const chunks = got.filter((g) => g.type === "download.chunk" && g.payload.request_id === "dl1");
    expect(chunks.map((c) => c.payload.seq)).toEqual([0, 1, 2, 3]);
    expect(got.find((g) => g.type === "download.end" && g.payload.request_id === "dl1")?.payload).toEqual({
      request_id: "dl1",
      bytes: 3 * CHUNK_BYTES + 1000,
      exit_code: 0,
    });
    // The link dropped during dl2: the agent stopped its restic dump (it exits, by signal or pipe).
    const dumps = children.filter((c) => c.argv.includes("dump"));
    expect(dumps).toHaveLength(2);
    const last = dumps[1];
    if (!last) throw new Error("no second dump");
    expect(typeof (await last.child.exited)).toBe("number");
    expect(() => process.kill(last.child.pid, 0)).toThrow();
    await agent.live.settled();
    expect(agent.live.active).toBe(0);
    // Nothing of browse or download went through the outbox.
    expect(agent.outbox.depth).toBe(0);
    expect((await readdir(join(stateDir, "tmp"))).filter((f) => f.startsWith("rf-restic-pw-"))).toEqual([]);
  } finally {
    stop.abort();
    await running;
    server.stop(true);
  }
}, 60_000);
