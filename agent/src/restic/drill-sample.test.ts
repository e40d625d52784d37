import { describe, expect, test } from "bun:test";
import { DrillSampler, parseByteSize, type SamplerOptions, seededRandom, treePath } from "./drill-sample.ts";

const MTIME = "2026-12-02T05:10:05.350621722Z";

/** `ls --json` as 0.14 prints it (struct_type); 0.18 adds message_type, which the sampler prefers. */
function snapshotLine(paths: string[], v018 = false): string {
  return JSON.stringify({
    id: "f".repeat(64),
    paths,
    struct_type: "snapshot",
    ...(v018 ? { message_type: "snapshot" } : {}),
  });
}
function node(path: string, size: number, type = "file", v018 = false): string {
  const name = path.split("/").at(-1);
  return JSON.stringify({
    name,
    type,
    path,
    size,
    mtime: MTIME,
    struct_type: "node",
    ...(v018 ? { message_type: "node" } : {}),
  });
}

function sampler(o: Partial<SamplerOptions> = {}) {
  return new DrillSampler({ count: 20, maxBytes: 1024 ** 3, random: seededRandom(7), ...o });
}

describe("drill sampling", () => {
  test("parseByteSize: K, M, G, T are powers of 1024", () => {
    expect(parseByteSize("100M")).toBe(104857600);
    expect(parseByteSize("1K")).toBe(1024);
    expect(parseByteSize("3T")).toBe(3 * 1024 ** 4);
    expect(parseByteSize("77")).toBe(77);
    expect(parseByteSize("1.5G")).toBeNull();
    expect(parseByteSize("10MB")).toBeNull();
    expect(parseByteSize("99999999999999999999T")).toBeNull();
  });

  test("regular files only: directories, links and parents outside the paths are skipped", () => {
    const s = sampler();
    for (const line of [
      snapshotLine(["/srv/a"]),
      node("/srv", 0, "dir"),
      node("/srv/a", 0, "dir"),
      node("/srv/a/link", 0, "symlink"),
      node("/srv/a/fifo", 0, "fifo"),
      node("/srv/a/f.txt", 10),
      "not json at all",
      "{broken",
    ]) {
      s.feed(line);
    }
    expect(s.snapshotPaths).toEqual(["/srv/a"]);
    expect(s.files).toBe(1);
    expect(s.pick().map((f) => f.path)).toEqual(["/srv/a/f.txt"]);
    expect(s.pick()[0]).toEqual({ path: "/srv/a/f.txt", size: 10, mtime: MTIME });
  });

  test("0.18's message_type lines are read the same way", () => {
    const s = sampler();
    s.feed(snapshotLine(["/a"], true));
    s.feed(node("/a/x", 5, "file", true));
    expect(s.pick()).toHaveLength(1);
  });

  test("the sample spreads round-robin across the top-level paths, however lopsided they are", () => {
    const s = sampler({ count: 6 });
    s.feed(snapshotLine(["/big", "/small", "/tiny"]));
    for (let i = 0; i < 5000; i++) s.feed(node(`/big/d${i % 50}/f${i}`, 100));
    for (let i = 0; i < 10; i++) s.feed(node(`/small/f${i}`, 100));
    s.feed(node("/tiny/only", 100));
    const roots = s.pick().map((f) => f.path.split("/")[1]);
    expect(roots.filter((r) => r === "tiny")).toHaveLength(1);
    expect(roots.filter((r) => r === "small").length).toBeGreaterThanOrEqual(2);
    expect(roots.filter((r) => r === "big").length).toBeGreaterThanOrEqual(2);
    expect(roots).toHaveLength(6);
  });

  test("a nested snapshot path is its own top-level path (the closest one wins)", () => {
    const s = sampler({ count: 2 });
    s.feed(snapshotLine(["/srv", "/srv/db"]));
    for (let i = 0; i < 100; i++) s.feed(node(`/srv/www/f${i}`, 1));
    s.feed(node("/srv/db/data", 1));
    expect(s.pick().map((f) => f.path)).toContain("/srv/db/data");
  });

  test("the byte cap: files over it are never sampled, and the sample's total stays under it", () => {
    const s = sampler({ count: 100, maxBytes: 1000 });
    s.feed(snapshotLine(["/a", "/b"]));
    s.feed(node("/a/huge", 5000));
    for (let i = 0; i < 50; i++) s.feed(node(`/a/f${i}`, 90));
    for (let i = 0; i < 50; i++) s.feed(node(`/b/f${i}`, 150));
    const picked = s.pick();
    const total = picked.reduce((sum, f) => sum + f.size, 0);
    expect(total).toBeLessThanOrEqual(1000);
    expect(picked.some((f) => f.path === "/a/huge")).toBe(false);
    expect(s.tooBig).toBe(1);
    // the cap is used well: no file left out would still fit
    expect(1000 - total).toBeLessThan(90);
  });

  test("the argv cap bounds the sum of the sampled paths' lengths", () => {
    const s = sampler({ count: 100, maxIncludeChars: 100 });
    s.feed(snapshotLine(["/a"]));
    for (let i = 0; i < 100; i++) s.feed(node(`/a/${"x".repeat(30)}${i}`, 1));
    const picked = s.pick();
    expect(picked.reduce((n, f) => n + f.path.length, 0)).toBeLessThanOrEqual(100);
    expect(picked.length).toBe(2);
  });

  test("the same seed gives the same sample; another seed another one", () => {
    const run = (seed: number) => {
      const s = sampler({ count: 5, random: seededRandom(seed) });
      s.feed(snapshotLine(["/a", "/b"]));
      for (let i = 0; i < 1000; i++) s.feed(node(`/${i % 2 ? "a" : "b"}/f${i}`, 1));
      return s.pick().map((f) => f.path);
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  test("bounded memory: the sampler holds at most count files per top-level path", () => {
    const s = sampler({ count: 10 });
    s.feed(snapshotLine(["/a", "/b", "/c"]));
    for (let i = 0; i < 200_000; i++) s.feed(node(`/${"abc"[i % 3]}/d${i % 97}/f${i}`, (i % 1000) + 1));
    expect(s.files).toBe(200_000);
    expect(s.held).toBeLessThanOrEqual(30);
    expect(s.pick()).toHaveLength(10);
  });

  test("every file has a fair chance: a reservoir does not keep only the first files", () => {
    const s = sampler({ count: 10, random: seededRandom(3) });
    s.feed(snapshotLine(["/a"]));
    for (let i = 0; i < 10_000; i++) s.feed(node(`/a/f${i}`, 1));
    const indexes = s.pick().map((f) => Number(f.path.slice(4)));
    expect(indexes.some((i) => i >= 5000)).toBe(true);
  });

  test("empty files only when the snapshot has nothing else", () => {
    const s = sampler({ count: 3 });
    s.feed(snapshotLine(["/a"]));
    s.feed(node("/a/empty1", 0));
    s.feed(node("/a/empty2", 0));
    expect(
      s
        .pick()
        .map((f) => f.path)
        .sort(),
    ).toEqual(["/a/empty1", "/a/empty2"]);
    s.feed(node("/a/full", 3));
    expect(s.pick().map((f) => f.path)).toEqual(["/a/full"]);
  });

  test("nothing to sample gives an empty sample (the drill then fails, never passes)", () => {
    const s = sampler();
    s.feed(snapshotLine(["/a"]));
    s.feed(node("/a/d", 0, "dir"));
    expect(s.pick()).toEqual([]);
    expect(s.files).toBe(0);
  });

  test("Windows snapshot paths (C:\\x) match restic's tree paths (/C/x)", () => {
    expect(treePath("C:\\Users\\me")).toBe("/C/Users/me");
    expect(treePath("D:\\")).toBe("/D");
    expect(treePath("/srv")).toBe("/srv");
    const s = sampler({ count: 2 });
    s.feed(snapshotLine(["C:\\data", "D:\\logs"]));
    for (let i = 0; i < 20; i++) s.feed(node(`/C/data/f${i}`, 1));
    s.feed(node("/D/logs/only.log", 1));
    expect(s.pick().map((f) => f.path)).toContain("/D/logs/only.log");
  });
});
