import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AutonomyStatus } from "./autonomy.ts";

/** What a running agent publishes for `restic-fleet-agent status` (no secrets). */
export interface RuntimeStatus {
  pid: number;
  updated_at: string;
  server: string;
  connected: boolean;
  restic_version: string;
  running_job: string | null;
  queued_jobs: string[];
  outbox_depth: number;
  /** The link and the agent's own authority while it is down (autonomy.ts); absent before 0.x agents wrote it. */
  autonomy?: AutonomyStatus;
}

export const STATUS_FILE = "status.json";

/** The write in flight per status file: the next one waits for it. */
const writing = new Map<string, Promise<void>>();

/**
 * Replaces status.json. Writes are queued, one at a time: two at once (a disconnect's write and
 * the shutdown's last one) shared the temp file, and the second rename found it gone (ENOENT).
 */
export function writeRuntimeStatus(stateDir: string, status: RuntimeStatus): Promise<void> {
  const path = join(stateDir, STATUS_FILE);
  const write = async () => {
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(status, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, path);
  };
  const done = (writing.get(path) ?? Promise.resolve()).then(write);
  const settled = done.catch(() => {});
  writing.set(path, settled);
  void settled.then(() => {
    if (writing.get(path) === settled) writing.delete(path);
  });
  return done;
}
