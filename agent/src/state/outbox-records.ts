import { open } from "node:fs/promises";
import * as v from "valibot";
import { AgentMessage, Count, Id } from "../../../protocol/index.ts";
import { FILE_MODE } from "./atomic-file.ts";

/** The agent → server messages that must survive disconnects and restarts until acked. */
export const OUTBOX_TYPES = [
  "command.result",
  "job.started",
  "job.progress",
  "job.finished",
  "job.log",
  "snapshots.report",
  "repo.stats",
  "repo.missing",
] as const;
export type OutboxType = (typeof OUTBOX_TYPES)[number];
export type OutboxEnvelope = Extract<AgentMessage, { type: OutboxType }>;
export type JobLogEnvelope = Extract<OutboxEnvelope, { type: "job.log" }>;

export interface OutboxEntry {
  /** Sort key: push order; a drop marker takes the place of the first line it stands for. */
  n: number;
  env: OutboxEnvelope;
  /** The record's bytes in the file, newline included; what the byte cap counts. */
  bytes: number;
  /** Its record is in the file, or being written; removing it then needs an `rm` record. */
  flushed: boolean;
  /** For a drop marker: how many log lines it stands for. */
  marker?: number;
}

// The outbox file is JSONL, one record per line, appended in batches:
//   {"n":12,"e":{...envelope}}          a pushed envelope (n: its position)
//   {"n":12,"e":{...job.log},"m":1234}  a drop marker standing for 1234 dropped log lines
//   {"rm":["id",...]}                   acked or dropped envelope ids
// Reading replays the lines in order and sorts what is left by n.
const PushRecord = v.object({
  n: Count,
  e: v.pipe(
    AgentMessage,
    v.check((e) => (OUTBOX_TYPES as readonly string[]).includes(e.type), "is not an outbox message type"),
  ),
  m: v.optional(Count),
});
const RemoveRecord = v.object({ rm: v.array(Id) });
const FileRecord = v.union([PushRecord, RemoveRecord]);

export const byteLength = (text: string) => Buffer.byteLength(text, "utf8");

export function recordLine(entry: Pick<OutboxEntry, "n" | "env" | "marker">): string {
  const { n, env: e, marker: m } = entry;
  return `${JSON.stringify(m === undefined ? { n, e } : { n, e, m })}\n`;
}

export function removalLine(ids: readonly string[]): string {
  return `${JSON.stringify({ rm: ids })}\n`;
}

/** A new, not yet written entry, with its size measured. */
export function makeEntry(n: number, env: OutboxEnvelope, marker?: number): OutboxEntry {
  const entry: OutboxEntry = { n, env, bytes: 0, flushed: false };
  if (marker !== undefined) entry.marker = marker;
  entry.bytes = byteLength(recordLine(entry));
  return entry;
}

export interface Replayed {
  /** Live entries, sorted by n (stable: equal n keep file order). All are `flushed`. */
  entries: OutboxEntry[];
  /** The last line was cut off (a crash mid-append). */
  torn: boolean;
  /** Lines elsewhere that did not parse; their messages are lost. */
  bad: number;
  /** The text ends with a newline (or is empty), so an append starts on a fresh line. */
  endsClean: boolean;
}

/** Replays an outbox file's text. Never throws. */
export function replayOutbox(text: string): Replayed {
  const live = new Map<string, OutboxEntry>();
  const lines = text.split("\n");
  const endsClean = text === "" || text.endsWith("\n");
  let torn = false;
  let bad = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === "") continue;
    let parsed: v.SafeParseResult<typeof FileRecord> | undefined;
    try {
      parsed = v.safeParse(FileRecord, JSON.parse(line));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      if (i === lines.length - 1 && !endsClean) torn = true;
      else bad += 1;
      continue;
    }
    const record = parsed.output;
    if ("rm" in record) {
      for (const id of record.rm) live.delete(id);
    } else if (!live.has(record.e.id)) {
      const entry = makeEntry(record.n, record.e as OutboxEnvelope, record.m);
      entry.flushed = true;
      live.set(entry.env.id, entry);
    }
  }
  const entries = [...live.values()].sort((a, b) => a.n - b.n);
  return { entries, torn, bad, endsClean };
}

/** Appends to the file and fsyncs it: one write, one fsync, however many records. */
export async function appendDurably(path: string, text: string): Promise<void> {
  const handle = await open(path, "a", FILE_MODE);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
