import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

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
}

export const STATUS_FILE = "status.json";

export async function writeRuntimeStatus(stateDir: string, status: RuntimeStatus): Promise<void> {
  const path = join(stateDir, STATUS_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(status, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}
