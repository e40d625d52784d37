import { describe, expect, test } from "bun:test";
import { type Decoded, decodeAgentMessage, decodeServerMessage } from "./decode.ts";
import { MAX_FRAME_BYTES } from "./limits.ts";
import { MAX_LOG_LINES_PER_FRAME } from "./messages/job-log.ts";

const TS = "2026-11-30T12:00:00Z";
const frame = (type: string, payload: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type, id: "e1", ts: TS, payload, ...extra });

const hello = {
  protocol_version: 1,
  agent_version: "0.1.0",
  restic_version: "0.14.0",
  hostname: "web-01",
  os: "linux",
  arch: "amd64",
};
const progress = {
  job_id: "j",
  percent_done: 0.5,
  files_done: 1,
  total_files: 2,
  bytes_done: 1,
  total_bytes: 2,
  eta_seconds: 1,
  throughput_bps: 1,
};
const logLine = { job_id: "j", seq: 1, ts: TS, stream: "stdout", payload: "x" };
const snap = {
  id: "a".repeat(64),
  short_id: "aaaaaaaa",
  time: TS,
  hostname: "h",
  paths: ["/srv"],
};

function deep(levels: number): string {
  return `${"[".repeat(levels)}${"]".repeat(levels)}`;
}

// [name, frame, expected path (or null when the whole frame is wrong), text the message must contain]
type Case = [string, string | Uint8Array, string | null, string];

const agentCases: Case[] = [
  ["empty string", "", null, "not valid JSON"],
  ["not JSON", "hello there", null, "not valid JSON"],
  ["truncated JSON", '{"type":"hello","id":', null, "not valid JSON"],
  ["JSON null", "null", null, "must be a JSON object"],
  ["JSON array", "[1,2]", null, "must be a JSON object"],
  ["JSON string", '"hello"', null, "must be a JSON object"],
  ["invalid UTF-8 bytes", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), null, "could not be decoded"],
  ["oversized frame", frame("heartbeat", { sent_at: TS, pad: "x".repeat(MAX_FRAME_BYTES) }), null, "limit"],
  ["missing type", JSON.stringify({ id: "e1", ts: TS, payload: {} }), "type", "type must be a string"],
  ["unknown type", frame("job.exploded", {}), "type", 'unknown message type "job.exploded"'],
  ["type of wrong kind", JSON.stringify({ type: 7, id: "e1", ts: TS, payload: {} }), "type", "type must be a string"],
  ["missing id", JSON.stringify({ type: "heartbeat", ts: TS, payload: { sent_at: TS } }), "id", "id"],
  ["empty id", frame("heartbeat", { sent_at: TS }, { id: "" }), "id", "must not be empty"],
  ["ts not RFC 3339", frame("heartbeat", { sent_at: TS }, { ts: "30/11/2026" }), "ts", "RFC 3339"],
  ["missing payload", JSON.stringify({ type: "heartbeat", id: "e1", ts: TS }), "payload", "payload"],
  ["heartbeat sent_at missing", frame("heartbeat", {}), "payload.sent_at", "payload.sent_at"],
  ["heartbeat sent_at epoch number", frame("heartbeat", { sent_at: 1764504000 }), "payload.sent_at", "string"],
  [
    "hello protocol_version string",
    frame("hello", { ...hello, protocol_version: "1" }),
    "payload.protocol_version",
    "number",
  ],
  [
    "hello protocol_version fraction",
    frame("hello", { ...hello, protocol_version: 1.5 }),
    "payload.protocol_version",
    "integer",
  ],
  ["hello unknown os", frame("hello", { ...hello, os: "plan9" }), "payload.os", "payload.os"],
  ["hello unknown arch", frame("hello", { ...hello, arch: "x86" }), "payload.arch", "payload.arch"],
  ["hello empty hostname", frame("hello", { ...hello, hostname: "" }), "payload.hostname", "must not be empty"],
  ["hello bad boot_time", frame("hello", { ...hello, boot_time: "yesterday" }), "payload.boot_time", "RFC 3339"],
  [
    "schedule.ack negative version",
    frame("schedule.ack", { version: -1, applied_at: TS }),
    "payload.version",
    "negative",
  ],
  [
    "schedule.fire bad scheduled_at",
    frame("schedule.fire", { schedule_id: "s", scheduled_at: "2026-13-01T00:00:00Z" }),
    "payload.scheduled_at",
    "RFC 3339",
  ],
  [
    "command.result accepted as string",
    frame("command.result", { job_id: "j", accepted: "yes" }),
    "payload.accepted",
    "boolean",
  ],
  [
    "job.started unknown kind",
    frame("job.started", { job_id: "j", kind: "destroy", started_at: TS }),
    "payload.kind",
    "payload.kind",
  ],
  [
    "job.progress percent over 1",
    frame("job.progress", { ...progress, percent_done: 61 }),
    "payload.percent_done",
    "between 0 and 1",
  ],
  [
    "job.progress huge number",
    frame("job.progress", { ...progress, files_done: "HUGE" }).replace(`"HUGE"`, "1e400"),
    "payload.files_done",
    "payload.files_done",
  ],
  [
    "job.progress beyond safe integer",
    frame("job.progress", { ...progress, bytes_done: 2 ** 60 }),
    "payload.bytes_done",
    "integer",
  ],
  [
    "job.progress eta huge float",
    frame("job.progress", { ...progress, eta_seconds: 1e300 }),
    "payload.eta_seconds",
    "too large",
  ],
  [
    "job.finished non-terminal status",
    frame("job.finished", { job_id: "j", status: "running", exit_code: 0, finished_at: TS }),
    "payload.status",
    "payload.status",
  ],
  [
    "job.finished stats as array",
    frame("job.finished", { job_id: "j", status: "failed", exit_code: 1, finished_at: TS, stats: [1] }),
    "payload.stats",
    "not an array",
  ],
  ["job.log empty batch", frame("job.log", { lines: [] }), "payload.lines", "at least one line"],
  [
    "job.log too many lines",
    frame("job.log", { lines: Array(MAX_LOG_LINES_PER_FRAME + 1).fill(logLine) }),
    "payload.lines",
    `at most ${MAX_LOG_LINES_PER_FRAME}`,
  ],
  [
    "job.log bad stream",
    frame("job.log", { lines: [logLine, { ...logLine, stream: "stdin" }] }),
    "payload.lines.1.stream",
    "payload.lines.1.stream",
  ],
  ["job.log seq negative", frame("job.log", { lines: [{ ...logLine, seq: -3 }] }), "payload.lines.0.seq", "negative"],
  [
    "snapshots.report short id in id",
    frame("snapshots.report", { snapshots: [{ ...snap, id: "aaaaaaaa" }] }),
    "payload.snapshots.0.id",
    "64-hex",
  ],
  [
    "snapshots.report tag not string",
    frame("snapshots.report", { snapshots: [{ ...snap, tags: ["ok", 5] }] }),
    "payload.snapshots.0.tags.1",
    "string",
  ],
  [
    "repo.stats bad lock_state",
    frame("repo.stats", { size_bytes: 1, snapshot_count: 1, dedup_ratio: 1, lock_state: "maybe" }),
    "payload.lock_state",
    "payload.lock_state",
  ],
  [
    "prototype pollution key",
    '{"type":"heartbeat","id":"e1","ts":"2026-11-30T12:00:00Z","payload":{"sent_at":"2026-11-30T12:00:00Z","__proto__":{"admin":true}}}',
    "payload.__proto__",
    "not allowed",
  ],
  [
    "constructor key in stats",
    frame("job.finished", {
      job_id: "j",
      status: "failed",
      exit_code: 1,
      finished_at: TS,
      stats: { constructor: { prototype: 1 } },
    }),
    "payload.stats.constructor",
    "not allowed",
  ],
  [
    "deeply nested value",
    `{"type":"job.finished","id":"e1","ts":"${TS}","payload":{"job_id":"j","status":"failed","exit_code":1,"finished_at":"${TS}","stats":{"x":${deep(5000)}}}}`,
    null,
    "nested deeper",
  ],
];

const serverCases: Case[] = [
  [
    "schedule.set entry without enabled",
    frame("schedule.set", { version: 1, schedules: [{ id: "s", kind: "backup", cron_expr: "* * * * *" }] }),
    "payload.schedules.0.enabled",
    "enabled",
  ],
  [
    "schedule.set bad keep_within",
    frame("schedule.set", {
      version: 1,
      schedules: [
        { id: "s", kind: "forget", cron_expr: "* * * * *", enabled: true, retention_policy: { keep_within: "a week" } },
      ],
    }),
    "payload.schedules.0.retention_policy.keep_within",
    "restic duration",
  ],
  [
    "command.run spec of another kind",
    frame("command.run", { job_id: "j", kind: "restore", spec: { paths: ["/x"] } }),
    "payload.spec.snapshot_id",
    "payload.spec.snapshot_id",
  ],
  ["command.run unknown kind", frame("command.run", { job_id: "j", kind: "rm" }), "payload.kind", "payload.kind"],
  [
    "command.run bad read_data_subset",
    frame("command.run", { job_id: "j", kind: "check", spec: { read_data_subset: "--all" } }),
    "payload.spec.read_data_subset",
    "10%",
  ],
  [
    "config.update password as number",
    frame("config.update", { repo_password: 1234 }),
    "payload.repo_password",
    "string",
  ],
  ["error unknown code", frame("error", { code: "teapot", message: "x" }), "payload.code", "payload.code"],
  ["ack ids not array", frame("ack", { ids: "e1" }), "payload.ids", "Array"],
  [
    "agent.update_available bad url",
    frame("agent.update_available", { latest_version: "1", package_url: "not a url" }),
    "payload.package_url",
    "URL",
  ],
];

function check(decode: (frame: string | Uint8Array) => Decoded<unknown>, [name, input, path, text]: Case) {
  test(name, () => {
    const result = decode(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("invalid_message");
    expect(result.error.message).toContain(text);
    if (path !== null) {
      expect(result.error.path).toBe(path);
      // The message itself names the path, so a human reading a log sees where.
      expect(result.error.message).toContain(path === "type" ? "type" : path);
    }
  });
}

describe("agent frames that the server must reject", () => {
  for (const c of agentCases) check(decodeAgentMessage, c);
});

describe("server frames that the agent must reject", () => {
  for (const c of serverCases) check(decodeServerMessage, c);
});

test("at least 30 bad inputs are covered", () => {
  expect(agentCases.length + serverCases.length).toBeGreaterThanOrEqual(30);
});

test("the envelope id is echoed as ref_id when it was readable", () => {
  const result = decodeAgentMessage(frame("heartbeat", {}));
  expect(result.ok ? undefined : result.error.ref_id).toBe("e1");
});

test("the global prototype is untouched after a pollution attempt", () => {
  decodeAgentMessage('{"__proto__":{"polluted":true},"type":"heartbeat"}');
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});
