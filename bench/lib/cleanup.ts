// Everything a benchmark starts (processes, temp dirs) is registered here and removed at the end,
// on an error, and on Ctrl-C or SIGTERM.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

const dirs = new Set<string>();
const procs = new Set<Subprocess>();
let keep = false;

/** --keep leaves temp dirs in place for a post-mortem (processes are still stopped). */
export function keepTempDirs(value: boolean): void {
  keep = value;
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `rf-bench-${prefix}-`));
  dirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Registers a child process; it is forgotten once it exits. */
export function track<T extends Subprocess>(proc: T): T {
  procs.add(proc);
  void proc.exited.then(() => procs.delete(proc));
  return proc;
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
export async function stopProcess(proc: Subprocess, graceMs = 10_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

export async function cleanupAll(): Promise<void> {
  await Promise.all([...procs].map((p) => stopProcess(p, 3_000)));
  if (!keep) for (const dir of [...dirs]) removeDir(dir);
}

/** Last resort (process.exit): no awaiting possible, so SIGKILL and synchronous removal. */
function cleanupSync(): void {
  for (const p of procs) {
    try {
      p.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
  if (!keep) for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

let interrupted = false;

export function installSignalHandlers(): void {
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      if (interrupted) {
        cleanupSync();
        process.exit(130);
      }
      interrupted = true;
      console.error(`\nbench: ${sig}: stopping child processes and removing temp dirs…`);
      void cleanupAll().finally(() => process.exit(130));
    });
  }
  process.on("exit", cleanupSync);
}
