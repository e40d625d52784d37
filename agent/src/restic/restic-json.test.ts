import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { checkStats, describeError, LsLine, parseResticLine } from "./restic-json.ts";
import { readLines } from "./spawn.ts";

describe("parseResticLine", () => {
  test("known messages are typed, loose fields pass through", () => {
    const status = parseResticLine(
      '{"message_type":"status","percent_done":0.61,"total_files":4,"files_done":3,"total_bytes":5242988,"bytes_done":3193878,"current_files":["/a"],"seconds_elapsed":2}',
    );
    expect(status).toMatchObject({ kind: "message", message: { message_type: "status", files_done: 3 } });
    const summary = parseResticLine(
      '{"message_type":"summary","files_new":3,"total_files_processed":3,"total_bytes_processed":7,"snapshot_id":"7fb51613","data_added_packed":1}',
    );
    expect(summary).toMatchObject({ kind: "message", message: { snapshot_id: "7fb51613", data_added_packed: 1 } });
    expect(parseResticLine('{"message_type":"verbose_status","action":"new","item":"/a"}')?.kind).toBe("message");
    expect(parseResticLine('{"message_type":"exit_error","code":10,"message":"Fatal: x"}')?.kind).toBe("message");
  });

  test("other JSON and text are told apart", () => {
    expect(parseResticLine('[{"keep":[],"remove":[]}]')).toEqual({ kind: "json", value: [{ keep: [], remove: [] }] });
    expect(parseResticLine('{"message_type":"initialized","id":"x"}')?.kind).toBe("json");
    // a known type with a wrong field is not trusted
    expect(parseResticLine('{"message_type":"status","percent_done":"half"}')?.kind).toBe("json");
    expect(parseResticLine("no errors were found")).toBeNull();
    expect(parseResticLine("{not json")).toBeNull();
  });

  test("error messages read well in both versions' shapes", () => {
    expect(describeError({ message_type: "error", error: {}, during: "archival", item: "/x" })).toBe(
      "error (archival /x)",
    );
    expect(describeError({ message_type: "error", error: { message: "denied" }, item: "/x" })).toBe(
      "error (/x): denied",
    );
  });
});

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(enc.encode(chunk));
      c.close();
    },
  });
}

describe("readLines", () => {
  test("splits across chunks, on LF, CRLF and CR, and keeps a last line without newline", async () => {
    const lines: string[] = [];
    await readLines(streamOf("a\nb", "c\r\nd\re\n\n", "tail"), (l) => lines.push(l));
    expect(lines).toEqual(["a", "bc", "d", "e", "tail"]);
  });

  test("decodes UTF-8 split across chunks", async () => {
    const bytes = new TextEncoder().encode("é\n");
    const lines: string[] = [];
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, 1));
        c.enqueue(bytes.slice(1));
        c.close();
      },
    });
    await readLines(stream, (l) => lines.push(l));
    expect(lines).toEqual(["é"]);
  });

  test("drops terminal control sequences", async () => {
    const lines: string[] = [];
    await readLines(streamOf("\u001b[2Ksignal interrupt received, cleaning up\n\u001b[2K\n"), (l) => lines.push(l));
    expect(lines).toEqual(["signal interrupt received, cleaning up"]);
  });

  test("cuts a runaway line", async () => {
    const lines: string[] = [];
    await readLines(streamOf("x".repeat(40_000)), (l) => lines.push(l));
    expect(lines.every((l) => l.length < 17_000)).toBe(true);
  });
});

describe("check --json (0.18) and ls --json (0.14 and 0.17+)", () => {
  test("a check summary becomes stats.check; anything else is none", () => {
    const broken = JSON.parse(
      '{"message_type":"summary","num_errors":1,"broken_packs":["05c0"],"suggest_repair_index":false,"suggest_prune":true}',
    );
    expect(checkStats(broken)).toEqual({
      num_errors: 1,
      broken_packs: ["05c0"],
      suggest_repair_index: false,
      suggest_prune: true,
    });
    expect(checkStats({ message_type: "summary", num_errors: 0, broken_packs: null })?.broken_packs).toEqual([]);
    // a backup summary has no num_errors
    expect(checkStats({ message_type: "summary", total_files_processed: 3 })).toBeNull();
  });

  test("0.18's check error lines carry their text in message", () => {
    expect(describeError({ message_type: "error", message: "pack 05c0 contains 2 errors\n" })).toBe(
      "error: pack 05c0 contains 2 errors",
    );
  });

  test("ls lines: struct_type (0.14), message_type (0.17+) or both (0.18)", () => {
    const old = v.parse(LsLine, { struct_type: "node", name: "a", type: "file", path: "/d/a", size: 3 });
    const mid = v.parse(LsLine, { message_type: "node", name: "a", type: "file", path: "/d/a" });
    const both = v.parse(LsLine, { message_type: "snapshot", struct_type: "snapshot", id: "x" });
    expect([old.kind, mid.kind, both.kind]).toEqual(["node", "node", "snapshot"]);
    expect(v.safeParse(LsLine, { name: "a" }).success).toBe(false);
  });
});
