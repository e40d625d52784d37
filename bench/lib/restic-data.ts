// Data sets and bare restic for the benchmarks' baselines: the same data and the same restic
// environment for the run through Restic Fleet and for the bare run beside it.
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { RESTIC } from "./agent-proc.ts";
import { removeDir } from "./cleanup.ts";

export interface DataSet {
  dir: string;
  bytes: number;
  files: number;
}

/** Large random files (incompressible, no dedup) plus many small files in 100-file directories. */
export function makeDataSet(dir: string, largeFiles: number, largeMiB: number, smallFiles: number): DataSet {
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (let i = 0; i < largeFiles; i++) {
    const fd = openSync(join(dir, `large-${i}.bin`), "w");
    for (let m = 0; m < largeMiB; m++) writeSync(fd, randomBytes(1024 * 1024));
    closeSync(fd);
    bytes += largeMiB * 1024 * 1024;
  }
  for (let i = 0; i < smallFiles; i++) {
    const sub = join(dir, "small", `d${String(Math.floor(i / 100)).padStart(3, "0")}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    const size = 200 + ((i * 7919) % 1848);
    writeFileSync(join(sub, `f${String(i).padStart(5, "0")}.txt`), randomBytes(size));
    bytes += size;
  }
  return { dir, bytes, files: largeFiles + smallFiles };
}

export function resticEnv(repo: string, passwordFile: string, cacheDir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("RESTIC_")) env[k] = v;
  return { ...env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD_FILE: passwordFile, RESTIC_CACHE_DIR: cacheDir };
}

export function resticInit(repo: string, passwordFile: string, cacheDir: string): void {
  const r = Bun.spawnSync([RESTIC, "init"], { env: resticEnv(repo, passwordFile, cacheDir), stdin: "ignore" });
  if (r.exitCode !== 0) throw new Error(`restic init failed: ${r.stderr.toString()}`);
}

/**
 * A maker of fresh repositories under `work` (repo-N with its cache-N), each initialised, for
 * benchmarks that give every timed run its own; and a warm-up with one of them, untimed, that
 * loads the page cache and restic itself before the first timed run.
 */
export function freshRepositories(work: string, passwordFile: string) {
  let run = 0;
  const fresh = () => {
    run += 1;
    const repo = join(work, `repo-${run}`);
    const cache = join(work, `cache-${run}`);
    resticInit(repo, passwordFile, cache);
    return { repo, cache };
  };
  const warmUp = async (backup: (repo: string, cache: string) => Promise<unknown>) => {
    const { repo, cache } = fresh();
    await backup(repo, cache);
    removeDir(repo);
    removeDir(cache);
  };
  return { fresh, warmUp };
}
