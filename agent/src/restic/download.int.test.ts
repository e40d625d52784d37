import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DownloadEndPayload } from "../../../protocol/index.ts";
import { type Frame, type LiveKit, liveKit } from "../live/live-test-kit.ts";
import {
  INT_TIMEOUT,
  listFiles,
  PASSWORD,
  RESTIC,
  randomTree,
  restic,
  type Sandbox,
  sandbox,
} from "../testing/int-helpers.ts";
import { CHUNK_BYTES } from "./download.ts";
import { bunSpawn } from "./spawn.ts";

/**
 * Download (download.*) against the real restic, on 0.14 and 0.18 (RF_TEST_RESTIC): a 50 MB file
 * streamed under credit flow control, a folder as a tar, a cancel in the middle, and refusals.
 */

let sb: Sandbox;
let site: string;
let big: string;
let idB: string;
const BIG = 50 * 1024 * 1024;

beforeAll(async () => {
  sb = await sandbox({ init: true });
  site = join(sb.data, "site");
  await mkdir(join(site, "conf", "nested"), { recursive: true });
  await writeFile(join(site, "conf", "app.conf"), "port = 80\n");
  await writeFile(join(site, "conf", "weird[1].txt"), "weird\n");
  await writeFile(join(site, "conf", "nested", "deep.txt"), "deep\n");
  await symlink("app.conf", join(site, "conf", "link"));
  await randomTree(join(site, "blob"), BIG, 1);
  big = join(site, "blob", "blob-0.bin");
  for (const host of ["web-a", "web-b"]) {
    const out = await restic(sb, ["backup", "--json", `--host=${host}`, site]);
    expect(out.code).toBe(0);
  }
  const out = await restic(sb, ["snapshots", "--json", "--no-lock", "--host=web-b"]);
  idB = (JSON.parse(out.stdout) as Array<{ id: string }>)[0]?.id ?? "";
}, 120_000);
afterAll(() => sb?.cleanup());

function kitAs(host: string): LiveKit {
  return liveKit({
    resticPath: RESTIC,
    spawn: bunSpawn,
    tempDir: sb.tmp,
    cacheDir: sb.cache,
    resticHost: host,
    getRepo: () => ({ repo_url: sb.repoUrl, repo_password: PASSWORD }),
  });
}

async function sha256File(path: string): Promise<string> {
  return new Bun.CryptoHasher("sha256").update(await readFile(path)).digest("hex");
}

const pwFilesLeft = async () => (await readdir(sb.tmp)).filter((f) => f.startsWith("rf-restic-pw-"));

describe(`download with ${RESTIC}`, () => {
  test("a 50 MB file arrives whole, in order, never more than the window unacknowledged", async () => {
    const kit = kitAs("web-a");
    const window = 4;
    const id = "dl-big";
    const server = serveStart(kit, id, window, big);
    const begin = await kit.next("download.begin", id);
    expect(begin).toEqual({ request_id: id, type: "file", name: "blob-0.bin", size: BIG });
    const end = await kit.next("download.end", id);
    expect(end).toEqual({ request_id: id, bytes: BIG, exit_code: 0 });
    expect(server.sha256()).toBe(await sha256File(big));
    expect(server.maxUnacked()).toBeLessThanOrEqual(window);
    expect(server.inOrder()).toBe(true);
    expect(server.maxChunk()).toBe(CHUNK_BYTES);
    const report = kit.live.downloads.find((d) => d.request_id === id);
    expect(report?.chunks).toBe(Math.ceil(BIG / CHUNK_BYTES));
    expect(report?.maxOutstanding).toBeLessThanOrEqual(window);
    // What the agent held itself, read from restic but not yet sent: about one chunk.
    expect(report?.maxHeldBytes).toBeLessThanOrEqual(2 * CHUNK_BYTES);
    expect(await pwFilesLeft()).toEqual([]);
  }, 60_000);

  test(
    "a folder comes as a tar that extracts to the same files",
    async () => {
      const kit = kitAs("web-a");
      const id = "dl-dir";
      const server = serveStart(kit, id, 8, join(site, "conf"), { keep: true });
      expect(await kit.next("download.begin", id)).toEqual({ request_id: id, type: "dir", name: "conf" });
      const end = await kit.next("download.end", id);
      expect(end.error).toBeUndefined();
      const out = await mkdtemp(join(sb.root, "untar-"));
      const tarFile = join(out, "conf.tar");
      await writeFile(tarFile, server.bytes());
      const tar = Bun.spawnSync(["tar", "-xf", tarFile, "-C", out]);
      expect(tar.exitCode).toBe(0);
      // restic's tar holds the snapshot's absolute paths, without the leading "/".
      const extracted = join(out, join(site, "conf").slice(1));
      expect(await listFiles(extracted)).toEqual(["app.conf", "nested/deep.txt", "weird[1].txt"]);
      expect(await readFile(join(extracted, "weird[1].txt"), "utf8")).toBe("weird\n");
      expect(await readFile(join(extracted, "nested", "deep.txt"), "utf8")).toBe("deep\n");
    },
    INT_TIMEOUT,
  );

  test(
    '"/" streams the whole snapshot as one tar',
    async () => {
      const kit = kitAs("web-a");
      const server = serveStart(kit, "dl-root", 16, "/", { keep: true });
      const begin = await kit.next("download.begin", "dl-root");
      expect(begin).toMatchObject({ type: "dir", name: expect.stringMatching(/^snapshot-[0-9a-f]{8}$/) });
      const end = await kit.next("download.end", "dl-root");
      expect(end.error).toBeUndefined();
      expect(end.bytes).toBeGreaterThan(BIG);
      const out = await mkdtemp(join(sb.root, "untar-root-"));
      await writeFile(join(out, "all.tar"), server.bytes());
      const listing = Bun.spawnSync(["tar", "-tf", join(out, "all.tar")])
        .stdout.toString()
        .split("\n");
      expect(listing).toContain(join(site, "conf", "app.conf").slice(1));
      expect(listing).toContain(big.slice(1));
    },
    INT_TIMEOUT,
  );

  test(
    "a cancel in the middle stops restic and ends the download cancelled",
    async () => {
      const kit = kitAs("web-a");
      const id = "dl-cancel";
      // Window 2 and no credit back: restic blocks on its pipe after the second chunk.
      let chunks = 0;
      kit.onFrame = (f) => {
        if (f.type === "download.chunk" && ++chunks === 2) kit.live.cancel(id);
      };
      kit.live.downloadStart({ request_id: id, snapshot_id: "latest", path: big, window: 2 });
      const end: DownloadEndPayload = await kit.next("download.end", id);
      expect(end.error?.code).toBe("cancelled");
      expect(end.bytes).toBe(2 * CHUNK_BYTES);
      const dump = kit.children.at(-1);
      if (!dump) throw new Error("no restic ran");
      // The dump process has exited (by signal or broken pipe): nothing is left running.
      expect(typeof (await dump.exited)).toBe("number");
      expect(() => process.kill(dump.pid, 0)).toThrow();
      await kit.live.settled();
      expect(kit.live.active).toBe(0);
      expect(await pwFilesLeft()).toEqual([]);
    },
    INT_TIMEOUT,
  );

  test(
    "refusals come in download.begin: a missing path, a symlink, another host's snapshot",
    async () => {
      const kit = kitAs("web-a");
      kit.live.downloadStart({ request_id: "m", snapshot_id: "latest", path: join(site, "nope"), window: 4 });
      expect((await kit.next("download.begin", "m")).error?.code).toBe("path_missing");
      kit.live.downloadStart({ request_id: "l", snapshot_id: "latest", path: join(site, "conf", "link"), window: 4 });
      const link = await kit.next("download.begin", "l");
      expect(link.error?.code).toBe("failed");
      expect(link.error?.message).toContain("is a symlink");
      kit.live.downloadStart({ request_id: "o", snapshot_id: idB, path: join(site, "conf", "app.conf"), window: 4 });
      expect((await kit.next("download.begin", "o")).error?.code).toBe("other_host");
      const server = serveStart(kit, "ok-b", 4, join(site, "conf", "app.conf"), { keep: true, source_host: "web-b" });
      expect((await kit.next("download.end", "ok-b")).error).toBeUndefined();
      expect(server.bytes().toString()).toBe("port = 80\n");
      await kit.live.settled();
      // Nothing but download.begin for a refusal.
      expect(kit.frames.filter((f) => ["m", "l", "o"].includes(f.payload.request_id)).map((f) => f.type)).toEqual([
        "download.begin",
        "download.begin",
        "download.begin",
      ]);
    },
    INT_TIMEOUT,
  );
});

/** serve() for one path. */
function serveStart(
  kit: LiveKit,
  requestId: string,
  window: number,
  path: string,
  o: { keep?: boolean; source_host?: string } = {},
) {
  const s = serveWith(kit, requestId, o);
  kit.live.downloadStart({
    request_id: requestId,
    snapshot_id: "latest",
    path,
    window,
    ...(o.source_host ? { source_host: o.source_host } : {}),
  });
  return s;
}

/**
 * Plays the server: hands every chunk on (hashes it, or keeps it) and credits it back one at a
 * time, later (a macrotask), as a server that passed it to the browser would. It tracks, from its
 * side of the wire, how many chunks were unacknowledged at most and whether seq ran 0, 1, 2...
 */
function serveWith(kit: LiveKit, requestId: string, o: { keep?: boolean }) {
  const hash = new Bun.CryptoHasher("sha256");
  const kept: Buffer[] = [];
  let unacked = 0;
  let maxUnacked = 0;
  let inOrder = true;
  let maxChunk = 0;
  let nextSeq = 0;
  kit.onFrame = (f: Frame) => {
    if (f.type !== "download.chunk" || f.payload.request_id !== requestId) return;
    if (f.payload.seq !== nextSeq++) inOrder = false;
    const bytes = Buffer.from(f.payload.data as string, "base64");
    maxChunk = Math.max(maxChunk, bytes.length);
    hash.update(bytes);
    if (o.keep) kept.push(bytes);
    unacked += 1;
    maxUnacked = Math.max(maxUnacked, unacked);
    setTimeout(() => {
      unacked -= 1;
      kit.live.credit(requestId, 1);
    }, 0);
  };
  return {
    sha256: () => hash.digest("hex"),
    bytes: () => Buffer.concat(kept),
    maxUnacked: () => maxUnacked,
    inOrder: () => inOrder,
    maxChunk: () => maxChunk,
  };
}
