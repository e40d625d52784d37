import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkFile, livePath, mtimeNs, RestoreErrors, restoredPath, sha256File } from "./drill-check.ts";

let root: string;
let target: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "rf-drill-check-"));
  target = join(root, "target");
});
afterAll(() => rm(root, { recursive: true, force: true }));

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** restic's RFC 3339 form of a nanosecond mtime, as it stores it (UTC, 9 digits). */
function rfc3339(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString().slice(0, 19);
  return `${iso}.${(ns % 1_000_000_000n).toString().padStart(9, "0")}Z`;
}

/** A live file and its restored copy, with the snapshot's view of it (size, exact mtime). */
async function pair(name: string, live: string, restored = live) {
  const path = join(root, "live", name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, live);
  const copy = restoredPath(target, path);
  await mkdir(dirname(copy), { recursive: true });
  await writeFile(copy, restored);
  const st = await stat(path, { bigint: true });
  return { path, file: { path, size: Buffer.byteLength(restored), mtime: rfc3339(st.mtimeNs) } };
}

describe("drill checks", () => {
  test("mtimeNs reads restic's RFC 3339 at full nanosecond precision, any offset", () => {
    expect(mtimeNs("2026-12-02T05:10:05.350621722Z")).toBe(1_796_188_205_350_621_722n);
    expect(mtimeNs("2026-12-02T06:10:05.350621722+01:00")).toBe(1_796_188_205_350_621_722n);
    expect(mtimeNs("2026-12-02T05:10:05.35Z")).toBe(1_796_188_205_350_000_000n);
    expect(mtimeNs("2026-12-02T05:10:05Z")).toBe(1_796_188_205_000_000_000n);
    expect(mtimeNs("yesterday")).toBeNull();
  });

  test("paths: <target>/<path> on POSIX; /C/x is C:\\x live and <target>\\C\\x restored on Windows", () => {
    expect(restoredPath("/tmp/t", "/srv/a.txt", "linux")).toBe("/tmp/t/srv/a.txt");
    expect(livePath("/srv/a.txt", "linux")).toBe("/srv/a.txt");
    expect(restoredPath("C:\\tmp\\t", "/C/Users/a.txt", "win32")).toBe("C:\\tmp\\t\\C\\Users\\a.txt");
    expect(livePath("/C/Users/a.txt", "win32")).toBe("C:\\Users\\a.txt");
    expect(livePath("/C", "win32")).toBe("C:\\");
  });

  test("sha256File streams the file", async () => {
    const p = join(root, "hash.bin");
    await writeFile(p, "x".repeat(200_000));
    expect(await sha256File(p)).toBe(sha("x".repeat(200_000)));
  });

  test("an unchanged live file is hashed and matched", async () => {
    const { file } = await pair("same.txt", "same bytes\n");
    expect(await checkFile(file, target, undefined)).toEqual({
      path: file.path,
      size: 11,
      sha256: sha("same bytes\n"),
      live: "matched",
    });
  });

  test("same size and mtime but other bytes: mismatch", async () => {
    const { file } = await pair("bad.txt", "live bytes\n", "snap bytes\n");
    expect(await checkFile(file, target, undefined)).toMatchObject({ live: "mismatch", sha256: sha("snap bytes\n") });
  });

  test("a live file with another mtime or size is changed, not compared; a gone one is missing", async () => {
    const { path, file } = await pair("moved.txt", "live bytes\n", "snap bytes\n");
    await utimes(path, 1_600_000_000, 1_600_000_000);
    expect((await checkFile(file, target, undefined)).live).toBe("changed");
    const grown = await pair("grown.txt", "a longer live file\n", "short\n");
    expect((await checkFile(grown.file, target, undefined)).live).toBe("changed");
    const gone = await pair("gone.txt", "x");
    await rm(gone.path);
    expect(await checkFile(gone.file, target, undefined)).toMatchObject({ live: "missing", sha256: sha("x") });
  });

  test("a live file the agent cannot stat is not compared, and says why", async () => {
    const { path } = await pair("plain.txt", "x");
    // A live path below a regular file gives ENOTDIR whoever runs the test (root ignores modes).
    const odd = { path: join(path, "below"), size: 1, mtime: "2026-12-02T05:10:05Z" };
    const other = join(root, "other-target");
    const copy = restoredPath(other, odd.path);
    await mkdir(dirname(copy), { recursive: true });
    await writeFile(copy, "x");
    const r = await checkFile(odd, other, undefined);
    expect(r).toMatchObject({ live: "changed", sha256: sha("x") });
    expect(r.error).toContain("ENOTDIR");
  });

  test("not restored: restic named the file, or nothing (or the wrong size) is at its path", async () => {
    const named = await pair("named.txt", "x");
    expect(await checkFile(named.file, target, "ciphertext verification failed")).toEqual({
      path: named.path,
      size: 1,
      sha256: null,
      live: "not_restored",
      error: "ciphertext verification failed",
    });
    const absent = { path: join(root, "live", "never.txt"), size: 3, mtime: "2026-12-02T05:10:05Z" };
    expect(await checkFile(absent, target, undefined)).toMatchObject({ live: "not_restored", sha256: null });
    const short = await pair("short.txt", "abc");
    expect(await checkFile({ ...short.file, size: 4 }, target, undefined)).toMatchObject({
      live: "not_restored",
      error: "restored 3 bytes where the snapshot has 4",
    });
  });

  test("RestoreErrors reads 0.14's text and 0.18's JSON, first error per file", () => {
    const e = new RestoreErrors();
    e.note("ignoring error for /d/b/x.bin: ciphertext verification failed");
    e.note("ignoring error for /d/b/x.bin: UtimesNano: no such file or directory");
    e.note("Fatal: There were 2 errors");
    e.note(
      '{"message_type":"error","error":{"message":"decrypting blob \\u003cdata/dcc8945e\\u003e from b6edfacd failed: ciphertext verification failed"},"during":"restore","item":"/d/y.bin"}',
    );
    e.note('{"message_type":"exit_error","code":1,"message":"Fatal: There were 2 errors\\n"}');
    expect([...e.byPath]).toEqual([
      ["/d/b/x.bin", "ciphertext verification failed"],
      ["/d/y.bin", "decrypting blob <data/dcc8945e> from b6edfacd failed: ciphertext verification failed"],
    ]);
  });
});
