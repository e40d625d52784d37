import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { CommandRunPayload, JobFinishedPayload } from "../../../protocol/index.ts";
import { realClock } from "../clock.ts";
import { bunSpawn } from "../restic/spawn.ts";
import { Supervisor } from "../restic/supervisor.ts";
import type { RepoConfig, SupervisorOptions } from "../restic/types.ts";
import { Recorder } from "./fake-spawn.ts";
import { OPEN_POLICY } from "./open-policy.ts";

/**
 * Shared set-up for the *.int.test.ts files, which run the real restic on repositories in temporary
 * folders. RF_TEST_RESTIC picks the binary, so the same suite runs against another restic version.
 */
export const RESTIC = process.env.RF_TEST_RESTIC ?? "restic";
export const PASSWORD = "correct horse battery staple";
/** Per test: bun's default of 5 s is about seven restic runs here (each one derives the key, ~0.5 s). */
export const INT_TIMEOUT = 30_000;

export interface Sandbox {
  root: string;
  repoUrl: string;
  data: string;
  tmp: string;
  cache: string;
  cleanup(): Promise<void>;
}

/**
 * `restic init` costs about 3 s here (it calibrates its key derivation), so the suite initializes
 * one repository per process, keeps its few small files in memory, and writes them out for every
 * sandbox that wants a repository.
 */
type RepoImage = Array<{ path: string; data: Buffer | null }>;
let template: Promise<RepoImage> | null = null;

function templateRepo(): Promise<RepoImage> {
  template ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), "rf-restic-template-"));
    try {
      const sb = { root: dir, repoUrl: join(dir, "repo"), data: dir, tmp: dir, cache: join(dir, "cache") } as Sandbox;
      const out = await restic(sb, ["init"]);
      if (out.code !== 0) throw new Error(`restic init failed: ${out.stderr}`);
      const entries = await readdir(sb.repoUrl, { recursive: true, withFileTypes: true });
      const image: RepoImage = [];
      for (const e of entries) {
        const full = join(e.parentPath, e.name);
        const path = full.slice(sb.repoUrl.length + 1);
        image.push({ path, data: e.isDirectory() ? null : await readFile(full) });
      }
      return image;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return template;
}

async function writeRepo(image: RepoImage, to: string): Promise<void> {
  await mkdir(to);
  for (const { path, data } of image) {
    const target = join(to, path);
    if (data) {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, data, { mode: 0o600 });
    } else {
      await mkdir(target, { recursive: true });
    }
  }
}

/**
 * A temporary folder with data/, tmp/ and cache/; with init, also an initialized repository; with
 * repoFrom, a copy of that repository folder (snapshots and all), for a test that changes it while
 * others read the original. No restic may be running on the original while it is copied.
 */
export async function sandbox(opts: { init?: boolean; repoFrom?: string } = {}): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), "rf-restic-int-"));
  const sb = {
    root,
    repoUrl: join(root, "repo"),
    data: join(root, "data"),
    tmp: join(root, "tmp"),
    cache: join(root, "cache"),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
  await Promise.all([mkdir(sb.data), mkdir(sb.tmp), mkdir(sb.cache)]);
  if (opts.repoFrom) await cp(opts.repoFrom, sb.repoUrl, { recursive: true });
  else if (opts.init) await writeRepo(await templateRepo(), sb.repoUrl);
  return sb;
}

export interface Real {
  sup: Supervisor;
  rec: Recorder;
  repo: { value: RepoConfig | null };
  /** Runs one job to its end and returns its job.finished. */
  run(cmd: CommandRunPayload): Promise<JobFinishedPayload>;
}

export function realSupervisor(sb: Sandbox, opts: Partial<SupervisorOptions> & { password?: string } = {}): Real {
  const rec = new Recorder();
  const repo = { value: { repo_url: sb.repoUrl, repo_password: opts.password ?? PASSWORD } as RepoConfig | null };
  const sup = new Supervisor({
    resticPath: RESTIC,
    spawn: bunSpawn,
    clock: realClock,
    emit: rec.emit,
    policy: OPEN_POLICY,
    tempDir: sb.tmp,
    cacheDir: sb.cache,
    getRepo: () => repo.value,
    resticHost: "int-host",
    ...opts,
  });
  let n = 0;
  return {
    sup,
    rec,
    repo,
    async run(cmd) {
      n += 1;
      sup.enqueue(cmd);
      await sup.idle();
      const done = rec.of("job.finished").find((f) => f.job_id === cmd.job_id);
      if (!done) throw new Error(`job ${cmd.job_id} (#${n}) did not finish`);
      return done;
    },
  };
}

/** Runs restic directly (not through the supervisor), for set-up and for checking results. */
export function restic(sb: Sandbox, args: string[], password = PASSWORD) {
  const home = process.env.HOME ?? sb.root;
  return resticOn({ repo: sb.repoUrl, password, scratch: sb.tmp, home, cache: sb.cache }, args);
}

/**
 * Runs restic on a repository with its password in a temporary 0600 file in `scratch`: the
 * agent suites' and the end-to-end suites' way to set up and read repositories themselves.
 */
export async function resticOn(
  o: { repo: string; password: string; scratch: string; home?: string; cache?: string },
  args: string[],
) {
  const pwFile = join(o.scratch, `direct-pw-${crypto.randomUUID()}`);
  await writeFile(pwFile, o.password, { mode: 0o600 });
  try {
    const proc = Bun.spawn([RESTIC, ...args], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: o.home ?? o.scratch,
        RESTIC_REPOSITORY: o.repo,
        RESTIC_PASSWORD_FILE: pwFile,
        ...(o.cache ? { RESTIC_CACHE_DIR: o.cache } : {}),
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { stdout, stderr, code };
  } finally {
    await rm(pwFile, { force: true });
  }
}

/** Files under dir, relative, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

export async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([readFile(a), readFile(b)]);
  return x.equals(y);
}

/** ~size bytes of incompressible, undeduplicable data in `count` files. */
export async function randomTree(dir: string, size: number, count = 4): Promise<void> {
  await mkdir(dir, { recursive: true });
  const per = Math.ceil(size / count);
  for (let i = 0; i < count; i++) {
    const buf = Buffer.allocUnsafe(per);
    // getRandomValues fills at most 64 KiB per call
    for (let off = 0; off < per; off += 65536) crypto.getRandomValues(buf.subarray(off, Math.min(per, off + 65536)));
    await writeFile(join(dir, `blob-${i}.bin`), buf);
  }
}
