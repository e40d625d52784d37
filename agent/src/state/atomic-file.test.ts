import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { parseJsonText, readJsonFile, removeStaleTempFiles, writeFileAtomic } from "./atomic-file.ts";

const root = await mkdtemp(join(tmpdir(), "rf-atomic-"));
afterAll(() => rm(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `case-${++n}`);

const Thing = v.object({ name: v.string(), count: v.number() });

describe("writeFileAtomic", () => {
  test("creates the directory 0700 and the file 0600", async () => {
    const dir = join(freshDir(), "nested");
    const path = join(dir, "thing.json");
    await writeFileAtomic(path, '{"name":"a","count":1}');
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, "utf8")).toBe('{"name":"a","count":1}');
  });

  test("replaces the content and leaves no temp files behind", async () => {
    const dir = freshDir();
    const path = join(dir, "thing.json");
    for (let i = 0; i < 20; i++) await writeFileAtomic(path, JSON.stringify({ name: "a", count: i }));
    await Promise.all([1, 2, 3].map((i) => writeFileAtomic(path, JSON.stringify({ name: "b", count: i }))));
    expect(await readdir(dir)).toEqual(["thing.json"]);
    const result = await readJsonFile(path, Thing);
    expect(result.ok && result.value.name).toBe("b");
  });

  test("a file that existed with a looser mode is replaced by a 0600 one", async () => {
    const dir = freshDir();
    const path = join(dir, "thing.json");
    await writeFileAtomic(path, "{}");
    await writeFile(path, "{}", { mode: 0o644 });
    await writeFileAtomic(path, "{}");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  test("a failed write leaves the old file and no temp file", async () => {
    const dir = freshDir();
    const path = join(dir, "thing.json");
    await writeFileAtomic(path, "old");
    // A directory in place of the target makes the rename fail after the temp file was written.
    const blocked = join(dir, "blocked");
    await writeFileAtomic(join(blocked, "x"), "x");
    await expect(writeFileAtomic(blocked, "new")).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(["blocked", "thing.json"]);
    expect(await readFile(path, "utf8")).toBe("old");
  });

  test("removeStaleTempFiles removes only our temp files", async () => {
    const dir = freshDir();
    await writeFileAtomic(join(dir, "thing.json"), "{}");
    await writeFile(join(dir, "thing.json.tmp-123-4"), "half");
    await writeFile(join(dir, "other.json.tmp-1-1"), "not ours");
    expect(await removeStaleTempFiles(dir, ["thing.json"])).toEqual(["thing.json.tmp-123-4"]);
    expect((await readdir(dir)).sort()).toEqual(["other.json.tmp-1-1", "thing.json"]);
  });
});

describe("readJsonFile", () => {
  test("ok with the validated value", async () => {
    const path = join(freshDir(), "t.json");
    await writeFileAtomic(path, '{"name":"x","count":2,"extra":true}');
    expect(await readJsonFile(path, Thing)).toEqual({ ok: true, value: { name: "x", count: 2 } });
  });

  test("missing", async () => {
    expect(await readJsonFile(join(freshDir(), "nope.json"), Thing)).toEqual({ ok: false, reason: "missing" });
  });

  test("garbage, truncated, empty and wrong shape are corrupt, with no content in the message", async () => {
    const secret = "hunter2-secret";
    const cases = [`garbage ${secret}`, `{"name":"${secret}","count":`, "", `{"name":"${secret}","count":"7"}`];
    const messages: string[] = [];
    for (const text of cases) {
      const result = parseJsonText(text, Thing);
      expect(result.ok).toBe(false);
      if (result.ok || result.reason !== "corrupt") throw new Error(`expected corrupt for ${text}`);
      expect(result.message).not.toContain(secret);
      messages.push(result.message);
    }
    expect(messages[1]).toContain("truncated");
    expect(messages[2]).toContain("empty");
    expect(messages[3]).toContain("count");
  });

  test("a directory in place of the file is unreadable, not a throw", async () => {
    const dir = freshDir();
    await writeFileAtomic(join(dir, "t.json", "inner"), "{}");
    const result = await readJsonFile(join(dir, "t.json"), Thing);
    expect(result.ok === false && result.reason).toBe("unreadable");
  });
});
