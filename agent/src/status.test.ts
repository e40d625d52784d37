import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RuntimeStatus, STATUS_FILE, writeRuntimeStatus } from "./status.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const status = (outbox_depth: number): RuntimeStatus => ({
  pid: process.pid,
  updated_at: "2026-12-02T10:00:00.000Z",
  server: "http://127.0.0.1:1/",
  connected: false,
  restic_version: "0.18.0",
  running_job: null,
  queued_jobs: [],
  outbox_depth,
});

test("status writes that overlap (a disconnect and the shutdown's last write) all succeed; the last one wins", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rf-status-"));
  dirs.push(dir);
  await Promise.all([1, 2, 3, 4].map((n) => writeRuntimeStatus(dir, status(n))));
  expect((JSON.parse(readFileSync(join(dir, STATUS_FILE), "utf8")) as RuntimeStatus).outbox_depth).toBe(4);
  expect(readdirSync(dir)).toEqual([STATUS_FILE]);
});
