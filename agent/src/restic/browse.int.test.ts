import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, readdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FilesListedPayload, FilesListPayload } from "../../../protocol/index.ts";
import { type LiveKit, liveKit } from "../live/live-test-kit.ts";
import { INT_TIMEOUT, PASSWORD, RESTIC, restic, type Sandbox, sandbox } from "../testing/int-helpers.ts";
import { bunSpawn } from "./spawn.ts";
import type { RepoConfig } from "./types.ts";

/**
 * Browse (files.list) against the real restic, on 0.14 and 0.18 (RF_TEST_RESTIC): one repository
 * shared by web-a and web-b, each with a snapshot of the same tree: nested folders, a file named
 * weird[1].txt (a glob to restic's restore --include), a symlink, a fifo and 1200 files in one folder.
 */

let sb: Sandbox;
let site: string;
let idA: string;
let idB: string;

async function idOf(host: string): Promise<string> {
  const out = await restic(sb, ["snapshots", "--json", "--no-lock", `--host=${host}`]);
  const list = JSON.parse(out.stdout) as Array<{ id: string }>;
  if (list.length !== 1 || !list[0]) throw new Error(`expected one snapshot of ${host}: ${out.stdout}`);
  return list[0].id;
}

beforeAll(async () => {
  sb = await sandbox({ init: true });
  site = join(sb.data, "site");
  await mkdir(join(site, "a", "b", "c"), { recursive: true });
  await mkdir(join(site, "many"));
  await writeFile(join(site, "a", "x.txt"), "hello\n");
  await writeFile(join(site, "a", "b", "c", "deep.txt"), "deep\n");
  await writeFile(join(site, "weird[1].txt"), "weird\n");
  await symlink("a/x.txt", join(site, "link"));
  expect(Bun.spawnSync(["mkfifo", join(site, "pipe")]).exitCode).toBe(0);
  for (let i = 0; i < 1200; i++) await writeFile(join(site, "many", `f${String(i).padStart(4, "0")}.txt`), `${i}\n`);
  for (const host of ["web-a", "web-b"]) {
    const out = await restic(sb, ["backup", "--json", `--host=${host}`, site]);
    expect(out.code).toBe(0);
  }
  idA = await idOf("web-a");
  idB = await idOf("web-b");
}, 60_000);
afterAll(() => sb?.cleanup());

function kitAs(host: string, repo: RepoConfig | null = { repo_url: sb.repoUrl, repo_password: PASSWORD }): LiveKit {
  return liveKit({
    resticPath: RESTIC,
    spawn: bunSpawn,
    tempDir: sb.tmp,
    cacheDir: sb.cache,
    resticHost: host,
    getRepo: () => repo,
  });
}

let n = 0;
async function list(
  kit: LiveKit,
  p: Omit<FilesListPayload, "request_id" | "snapshot_id"> & { snapshot_id?: string },
): Promise<FilesListedPayload> {
  const request_id = `ls-${++n}`;
  kit.live.filesList({ snapshot_id: "latest", ...p, request_id });
  return kit.next("files.listed", request_id);
}

const names = (r: FilesListedPayload) => (r.items ?? []).map((i) => i.name);

describe(`browse with ${RESTIC}`, () => {
  test(
    "a directory lists its direct children only, typed, with the full snapshot id",
    async () => {
      const kit = kitAs("web-a");
      const r = await list(kit, { path: site });
      expect(r.error).toBeUndefined();
      expect(r.snapshot_id).toBe(idA);
      expect(r.total).toBe(5);
      expect(names(r)).toEqual(["a", "link", "many", "pipe", "weird[1].txt"]);
      const by = Object.fromEntries((r.items ?? []).map((i) => [i.name, i]));
      expect(by.a).toMatchObject({ type: "dir", path: join(site, "a"), size: 0 });
      expect(by.link?.type).toBe("symlink");
      expect(by.pipe?.type).toBe("other");
      expect(by["weird[1].txt"]).toMatchObject({ type: "file", size: 6, path: join(site, "weird[1].txt") });
      expect(by["weird[1].txt"]?.mtime).toMatch(/^\d{4}-\d\d-\d\dT/);
      // A trailing slash names the same directory; nested folders list their own children.
      expect(names(await list(kit, { path: `${site}/a/` }))).toEqual(["b", "x.txt"]);
      expect(names(await list(kit, { path: join(site, "a", "b", "c") }))).toEqual(["deep.txt"]);
      // "/" is the snapshot's top level: the first segment of the backed-up path.
      const top = await list(kit, { path: "/" });
      expect(names(top)).toEqual([sb.data.split("/")[1] ?? ""]);
    },
    INT_TIMEOUT,
  );

  test(
    "a directory of 1200 entries comes in pages, each holding only its own slice",
    async () => {
      const kit = kitAs("web-a");
      const dir = join(site, "many");
      const first = await list(kit, { path: dir });
      expect(first.total).toBe(1200);
      expect(first.items).toHaveLength(500);
      expect(first.items?.[0]?.name).toBe("f0000.txt");
      const last = await list(kit, { path: dir, offset: 1000, limit: 1000 });
      expect(last.total).toBe(1200);
      expect(names(last)).toEqual(Array.from({ length: 200 }, (_, i) => `f${1000 + i}.txt`));
      const past = await list(kit, { path: dir, offset: 5000 });
      expect(past).toMatchObject({ total: 1200, items: [] });
    },
    INT_TIMEOUT,
  );

  test(
    "a missing path, a file, and a bad path are refused with their own codes",
    async () => {
      const kit = kitAs("web-a");
      const missing = await list(kit, { path: join(site, "nope") });
      expect(missing.error?.code).toBe("path_missing");
      expect(missing.error?.message).toContain(join(site, "nope"));
      // weird[1].txt is matched literally (ls takes paths, not globs).
      const file = await list(kit, { path: join(site, "weird[1].txt") });
      expect(file.error?.code).toBe("not_a_directory");
      expect(file.error?.message).toContain("is a file");
      for (const bad of [`${site}/../etc`, "relative/path", "/a/./b"]) {
        const r = await list(kit, { path: bad });
        expect(r.error?.code).toBe("failed");
        expect(r.error?.message).toContain(JSON.stringify(bad));
      }
    },
    INT_TIMEOUT,
  );

  test(
    "an unknown snapshot, and a latest of a host with none, are snapshot_missing",
    async () => {
      const kit = kitAs("web-a");
      const unknown = await list(kit, { snapshot_id: "deadbeef", path: "/" });
      expect(unknown.error?.code).toBe("snapshot_missing");
      expect(unknown.error?.message).toContain("deadbeef");
      const none = await list(kit, { path: "/", source_host: "web-z" });
      expect(none.error).toEqual({
        code: "snapshot_missing",
        message: 'host "web-z" has no snapshot in the repository',
      });
    },
    INT_TIMEOUT,
  );

  test(
    "another host's snapshot is refused by id without source_host, and served with it",
    async () => {
      const kit = kitAs("web-a");
      const refused = await list(kit, { snapshot_id: idB, path: site });
      expect(refused.items).toBeUndefined();
      expect(refused.error?.code).toBe("other_host");
      expect(refused.error?.message).toContain('belongs to host "web-b"');
      expect(refused.error?.message).toContain("name that host as the source host");
      const served = await list(kit, { snapshot_id: idB.slice(0, 8), path: site, source_host: "web-b" });
      expect(served).toMatchObject({ snapshot_id: idB, total: 5 });
      // latest follows --host: web-a's latest is web-a's although web-b backed up last.
      expect((await list(kit, { path: site })).snapshot_id).toBe(idA);
      expect((await list(kit, { path: site, source_host: "web-b" })).snapshot_id).toBe(idB);
      // Its own snapshot by id is served.
      expect((await list(kit, { snapshot_id: idA, path: site })).snapshot_id).toBe(idA);
    },
    INT_TIMEOUT,
  );

  test(
    "no repository, a wrong password and too many at once: clear errors, no secret, no file left",
    async () => {
      expect((await list(kitAs("web-a", null), { path: "/" })).error?.code).toBe("no_repository");
      const wrong = await list(kitAs("web-a", { repo_url: sb.repoUrl, repo_password: "not-it-x9" }), { path: "/" });
      expect(wrong.error?.code).toBe("failed");
      expect(wrong.error?.message).toContain("password is wrong");
      expect(wrong.error?.message).not.toContain("not-it-x9");
      const kit = kitAs("web-a");
      const ids = [1, 2, 3, 4, 5].map((i) => `busy-${i}`);
      for (const request_id of ids) kit.live.filesList({ request_id, snapshot_id: "latest", path: site });
      const answers = await Promise.all(ids.map((id) => kit.next("files.listed", id)));
      expect(answers.map((a) => a.error?.code ?? "ok")).toEqual(["ok", "ok", "ok", "ok", "busy"]);
      await kit.live.settled();
      expect((await readdir(sb.tmp)).filter((f) => f.startsWith("rf-restic-pw-"))).toEqual([]);
    },
    INT_TIMEOUT,
  );
});
