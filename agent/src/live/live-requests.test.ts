import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_FRAME_BYTES, type ServerMessage } from "../../../protocol/index.ts";
import { handleServerMessage, type MessageContext } from "../handle-message.ts";
import { silentLogger } from "../log.ts";
import { CHUNK_BYTES } from "../restic/download.ts";
import { FakeSpawn, type Handler } from "../testing/fake-spawn.ts";
import { OPEN_POLICY } from "../testing/open-policy.ts";
import { MAX_LIVE_REQUESTS } from "./live-requests.ts";
import { liveKit } from "./live-test-kit.ts";

/**
 * LiveRequests over a fake restic: what each request runs, what it answers, and that the message
 * loop hands browse and download off at once (a credit must reach a running download).
 */

const tempDir = await mkdtemp(join(tmpdir(), "rf-live-"));
afterAll(() => rm(tempDir, { recursive: true, force: true }));

const ID = "7fb516131dae280fd3988a5758e80cafc732ec8501a2cd1b0ce1c813b03942cb";
const snapshotLine = (hostname: string, id = ID) =>
  JSON.stringify({
    time: "2026-12-01T10:00:00Z",
    paths: ["/srv"],
    hostname,
    id,
    short_id: id.slice(0, 8),
    struct_type: "snapshot",
  });
const node = (path: string, type: string, size?: number) =>
  JSON.stringify({
    name: path.split("/").pop(),
    type,
    path,
    ...(size === undefined ? {} : { size }),
    mtime: "2026-12-01T09:00:00Z",
    message_type: "node",
    struct_type: "node",
  });

function kitWith(handler: Handler, extra: Parameters<typeof liveKit>[0] extends infer O ? Partial<O> : never = {}) {
  const spawn = new FakeSpawn(handler);
  const kit = liveKit({
    resticPath: "restic",
    spawn: spawn.spawn,
    tempDir,
    resticHost: "web-a",
    getRepo: () => ({ repo_url: "/srv/repo", repo_password: "pw-s3cret-77" }),
    ...extra,
  });
  return { kit, spawn };
}

const env = <T extends ServerMessage["type"]>(type: T, payload: Extract<ServerMessage, { type: T }>["payload"]) =>
  ({ type, id: crypto.randomUUID(), ts: "2026-12-02T12:00:00Z", payload }) as ServerMessage;

describe("files.list", () => {
  test("runs ls --no-lock scoped to this host for latest, and pages the direct children", async () => {
    const { kit, spawn } = kitWith(() => ({
      stdout: [
        snapshotLine("web-a"),
        node("/srv", "dir"),
        node("/srv/a", "dir"),
        node("/srv/a/deeper", "file", 1), // not a direct child: never listed
        node("/srv/b.txt", "file", 12),
        node("/srv/c", "dev"),
      ],
    }));
    kit.live.filesList({ request_id: "r1", snapshot_id: "latest", path: "/srv/", offset: 1, limit: 1 });
    const r = await kit.next("files.listed", "r1");
    expect(spawn.calls[0]?.argv).toEqual([
      "restic",
      "ls",
      "--json",
      "--no-lock",
      "--host=web-a",
      "--",
      "latest",
      "/srv",
    ]);
    expect(r).toEqual({
      request_id: "r1",
      items: [{ name: "b.txt", path: "/srv/b.txt", type: "file", size: 12, mtime: "2026-12-01T09:00:00Z" }],
      total: 3,
      snapshot_id: ID,
    });
    kit.live.filesList({ request_id: "r2", snapshot_id: "latest", path: "/srv" });
    expect((await kit.next("files.listed", "r2")).items?.map((i) => i.type)).toEqual(["dir", "file", "other"]);
  });

  test("a page of long paths ends before the frame limit, and says how many there are", async () => {
    const dir = `/srv/${"d".repeat(1500)}`;
    const lines = [snapshotLine("web-a"), node(dir, "dir")];
    for (let i = 0; i < 1000; i++)
      lines.push(node(`${dir}/${String(i).padStart(4, "0")}${"f".repeat(200)}`, "file", i));
    const { kit } = kitWith(() => ({ stdout: lines }));
    kit.live.filesList({ request_id: "long", snapshot_id: "latest", path: dir, limit: 1000 });
    const r = await kit.next("files.listed", "long");
    expect(r.total).toBe(1000);
    const got = r.items ?? [];
    expect(got.length).toBeGreaterThan(100);
    expect(got.length).toBeLessThan(1000);
    expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThan(MAX_FRAME_BYTES - 32 * 1024);
    // Contiguous from the offset: the next page starts where this one ended.
    expect(got.map((i) => i.size)).toEqual(Array.from({ length: got.length }, (_, i) => i));
  });

  test("restic 0.14's quiet unknown id (exit 0) is snapshot_missing; a wrong password is failed, redacted", async () => {
    const { kit } = kitWith((argv) =>
      argv.includes("deadbeef")
        ? { stderr: ['Ignoring "deadbeef": no matching ID found for prefix "deadbeef"'] }
        : { stderr: ["Fatal: wrong password or no key found (pw-s3cret-77)"], exitCode: 1 },
    );
    kit.live.filesList({ request_id: "u", snapshot_id: "deadbeef", path: "/" });
    expect((await kit.next("files.listed", "u")).error?.code).toBe("snapshot_missing");
    kit.live.filesList({ request_id: "w", snapshot_id: "latest", path: "/" });
    const wrong = (await kit.next("files.listed", "w")).error;
    expect(wrong?.code).toBe("failed");
    expect(wrong?.message).toContain("password is wrong");
    expect(wrong?.message).not.toContain("pw-s3cret-77");
  });

  test("an explicit id of another host is refused at the snapshot line, before any entry", async () => {
    const { kit, spawn } = kitWith(() => ({
      stdout: [snapshotLine("web-b"), node("/srv", "dir"), node("/srv/x", "file", 1)],
    }));
    kit.live.filesList({ request_id: "o", snapshot_id: ID.slice(0, 8), path: "/srv" });
    const r = await kit.next("files.listed", "o");
    expect(r.items).toBeUndefined();
    expect(r.error?.code).toBe("other_host");
    // --host is left out for an id: restic would ignore it.
    expect(spawn.calls[0]?.argv).toEqual(["restic", "ls", "--json", "--no-lock", "--", ID.slice(0, 8), "/srv"]);
  });

  test("the host's policy, a missing repository, and one request too many are refused before restic", async () => {
    const pinned = kitWith(() => ({}), {
      policy: { ...OPEN_POLICY, repositories: ["s3:https://s3.example.com/"], source: "/etc/rf/policy.json" },
    });
    pinned.kit.live.filesList({ request_id: "p", snapshot_id: "latest", path: "/" });
    const p = await pinned.kit.next("files.listed", "p");
    expect(p.error?.code).toBe("policy");
    expect(p.error?.message).toContain("/etc/rf/policy.json");
    const none = kitWith(() => ({}), { getRepo: () => null });
    none.kit.live.filesList({ request_id: "n", snapshot_id: "latest", path: "/" });
    expect((await none.kit.next("files.listed", "n")).error?.code).toBe("no_repository");
    expect([...pinned.spawn.calls, ...none.spawn.calls]).toHaveLength(0);

    const { kit, spawn } = kitWith(() => "manual");
    for (let i = 0; i < MAX_LIVE_REQUESTS + 1; i++) {
      kit.live.filesList({ request_id: `b${i}`, snapshot_id: "latest", path: "/" });
    }
    expect((await kit.next("files.listed", `b${MAX_LIVE_REQUESTS}`)).error?.code).toBe("busy");
    expect(kit.live.active).toBe(MAX_LIVE_REQUESTS);
    await nthCall(spawn, "ls", MAX_LIVE_REQUESTS);
    // The link closes: every running request is stopped (SIGINT to its restic).
    kit.live.cancelAll();
    await kit.live.settled();
    expect(spawn.calls.map((c) => c.child.signals[0])).toEqual(["SIGINT", "SIGINT", "SIGINT", "SIGINT"]);
    expect(kit.frames.filter((f) => f.type === "files.listed").map((f) => f.payload.error)).toHaveLength(5);
    expect((await readdir(tempDir)).filter((f) => f.startsWith("rf-restic-pw-"))).toEqual([]);
  });
});

describe("the message loop", () => {
  test("files.list and download.start return at once; a credit reaches the running download", async () => {
    const file = node("/srv/f.bin", "file", 5);
    const { kit, spawn } = kitWith((argv) => (argv[1] === "ls" ? { stdout: [snapshotLine("web-a"), file] } : "manual"));
    const ctx = { live: kit.live, log: silentLogger } as unknown as MessageContext;
    await handleServerMessage(
      env("download.start", { request_id: "d", snapshot_id: "latest", path: "/srv/f.bin", window: 1 }),
      ctx,
    );
    expect(await kit.next("download.begin", "d")).toEqual({ request_id: "d", type: "file", name: "f.bin", size: 5 });
    const dump = await nthCall(spawn, "dump", 1);
    expect(dump.argv).toEqual(["restic", "dump", "--json", "--no-lock", "--archive=tar", "--", ID, "/srv/f.bin"]);
    // One whole chunk (the line and its newline), then a short tail that needs the next credit.
    dump.child.out("x".repeat(CHUNK_BYTES - 1));
    expect((await kit.next("download.chunk", "d")).seq).toBe(0);
    dump.child.out("tail");
    dump.child.exit(0);
    // The tail is read, and waits for credit: without it, nothing more is sent.
    await kit.live.whenWaitingForCredit("d");
    expect(kit.frames.filter((f) => f.type === "download.chunk")).toHaveLength(1);
    await handleServerMessage(env("download.credit", { request_id: "d", chunks: 1 }), ctx);
    const end = await kit.next("download.end", "d");
    expect(end).toEqual({ request_id: "d", bytes: CHUNK_BYTES + 5, exit_code: 0 });
    const chunks = kit.frames.filter((f) => f.type === "download.chunk").map((f) => f.payload.data as string);
    expect(Buffer.from(chunks[1] ?? "", "base64").toString()).toBe("tail\n");

    // A cancel stops restic and ends the download cancelled.
    await handleServerMessage(
      env("download.start", { request_id: "c", snapshot_id: "latest", path: "/srv/f.bin", window: 1 }),
      ctx,
    );
    await kit.next("download.begin", "c");
    const second = await nthCall(spawn, "dump", 2);
    await handleServerMessage(env("download.cancel", { request_id: "c" }), ctx);
    const cancelled = await kit.next("download.end", "c");
    expect(cancelled.error?.code).toBe("cancelled");
    expect(second.child.signals).toContain("SIGINT");
    await kit.live.settled();
  });
});

/** The nth spawn whose argv holds word; bounded, each turn waits for the event loop. */
describe("download.*", () => {
  const file = node("/srv/f.bin", "file", 9);
  const start = (kit: ReturnType<typeof kitWith>["kit"], request_id: string) =>
    kit.live.downloadStart({ request_id, snapshot_id: "latest", path: "/srv/f.bin", window: 4 });

  test("restic failing part way ends the download failed, with its classified, redacted error", async () => {
    const { kit, spawn } = kitWith((argv) => (argv[1] === "ls" ? { stdout: [snapshotLine("web-a"), file] } : "manual"));
    start(kit, "f");
    const dump = await nthCall(spawn, "dump", 1);
    dump.child.out("partial");
    dump.child.err("Fatal: repository is already locked by PID 7 (pw-s3cret-77)");
    dump.child.exit(1);
    const end = await kit.next("download.end", "f");
    expect(end.bytes).toBe(8);
    expect(end.exit_code).toBe(1);
    expect(end.error?.code).toBe("failed");
    expect(end.error?.message).toContain("restic dump failed part way");
    expect(end.error?.message).toContain("locked by another restic process");
    expect(end.error?.message).not.toContain("pw-s3cret-77");
  });

  test("a link that refuses a chunk stops restic, and nothing more is sent", async () => {
    const { kit, spawn } = kitWith((argv) => (argv[1] === "ls" ? { stdout: [snapshotLine("web-a"), file] } : "manual"));
    start(kit, "down");
    const dump = await nthCall(spawn, "dump", 1);
    kit.linkUp = false;
    dump.child.out("x".repeat(CHUNK_BYTES));
    await kit.live.settled();
    expect(dump.child.signals).toEqual(["SIGINT"]);
    expect(kit.frames.map((f) => f.type)).toEqual(["download.begin"]);
    expect((await readdir(tempDir)).filter((f) => f.startsWith("rf-restic-pw-"))).toEqual([]);
  });

  test('"/" downloads the whole snapshot as a tar named after it', async () => {
    const { kit, spawn } = kitWith((argv) =>
      argv[1] === "ls" ? { stdout: [snapshotLine("web-a"), node("/srv", "dir")] } : { stdout: ["tar bytes"] },
    );
    kit.live.downloadStart({ request_id: "root", snapshot_id: "latest", path: "/", window: 4 });
    expect(await kit.next("download.begin", "root")).toEqual({
      request_id: "root",
      type: "dir",
      name: "snapshot-7fb51613",
    });
    expect((await kit.next("download.end", "root")).error).toBeUndefined();
    expect((await nthCall(spawn, "dump", 1)).argv.slice(1)).toEqual([
      "dump",
      "--json",
      "--no-lock",
      "--archive=tar",
      "--",
      ID,
      "/",
    ]);
  });
});

async function nthCall(spawn: FakeSpawn, word: string, n: number) {
  for (let turn = 0; turn < 10_000; turn++) {
    const hit = spawn.calls.filter((c) => c.argv.includes(word))[n - 1];
    if (hit) return hit;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`restic ${word} was not started ${n} times`);
}
