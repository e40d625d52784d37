import { expect, test } from "bun:test";
import { joinWords, splitWords } from "./argv-words.ts";

test("a command line becomes argv as a shell would split it, without running one", () => {
  expect(splitWords("pg_dump --format=plain mydb")).toEqual({ ok: true, argv: ["pg_dump", "--format=plain", "mydb"] });
  expect(splitWords(`/bin/sh -c 'pg_dump mydb | gzip'`)).toEqual({
    ok: true,
    argv: ["/bin/sh", "-c", "pg_dump mydb | gzip"],
  });
  expect(splitWords(`sqlite3 "/var/lib/my app.db" .dump`)).toEqual({
    ok: true,
    argv: ["sqlite3", "/var/lib/my app.db", ".dump"],
  });
  expect(splitWords(`echo '' a\\ b "x\\"y"`)).toEqual({ ok: true, argv: ["echo", "", "a b", 'x"y'] });
  expect(splitWords("  ")).toEqual({ ok: true, argv: [] });
  expect(splitWords("pg_dump 'mydb")).toEqual({ ok: false, message: "a ' quote is not closed" });
});

test("joinWords reads back the same", () => {
  for (const argv of [
    ["pg_dump", "mydb"],
    ["/bin/sh", "-c", "pg_dump 'x' | gzip"],
    ["a b", "", "it's"],
  ]) {
    const line = joinWords(argv);
    expect(splitWords(line)).toEqual({ ok: true, argv });
  }
});
