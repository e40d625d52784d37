import { chmod, mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { DrillFile, DrillReport } from "../../../protocol/index.ts";
import {
  type DrillInput,
  drillListArgv,
  drillRestoreArgv,
  type GlobalFlags,
  latestSnapshotArgv,
  snapshotLookupArgv,
} from "./argv.ts";
import { classifyFailure, STDERR_TAIL_LINES } from "./classify.ts";
import { checkFile, RestoreErrors } from "./drill-check.ts";
import { drillReport } from "./drill-report.ts";
import { DrillSampler, type SnapshotFile } from "./drill-sample.ts";
import { cancelled, failed, type Outcome, resticFailed } from "./outcome.ts";
import { parseJsonLine, ResticSnapshotList } from "./restic-json.ts";
import { errorText, type ProcessResult } from "./run-process.ts";
import type { Redact } from "./secrets.ts";
import type { StepOutput } from "./step-output.ts";
import type { FailureReason } from "./types.ts";

/** What a drill needs from its job (JobRun gives its processes, log and cancel flag). */
export interface DrillDeps {
  /** One restic run of the job, its output read by `out` (JobProcesses.restic: cancellable, logged). */
  restic(args: string[], out: StepOutput): Promise<ProcessResult>;
  /** A fresh reader for one restic run; with progress, restic's status lines become job.progress. */
  output(progress: boolean): StepOutput;
  log(text: string): void;
  cancelRequested(): boolean;
  redact: Redact;
  resticPath: string;
  /** The agent's private temporary folder (mode 0700; the password files live there too). */
  tempDir: string;
  globals: GlobalFlags;
  /** The hosts whose snapshots count as this host's (its restic host name, and the machine's). */
  hosts: string[];
  random: () => number;
  /** Test seams. */
  escapeInclude?: (literal: string) => string;
  platform?: NodeJS.Platform;
}

const DRILL_FOLDER_PREFIX = "rf-drill-";
/** restic's error in the report: its last lines, well inside job.finished's 64 KiB error text. */
const MAX_ERROR_CHARS = 4096;

/**
 * A restore drill (DESIGN §8.5): pin the snapshot to a full id of this host's, sample its files
 * from `ls --json`, restore them with one `restore --verify` into a private folder, hash each and
 * compare it with the live file where that is unchanged, and remove the folder whatever happens.
 * The outcome carries the report in stats.drill; a failed drill is a failed job.
 */
export async function runDrill(input: DrillInput, d: DrillDeps): Promise<Outcome> {
  const snapshotId = await resolveSnapshot(input.snapshotId, d);
  if (typeof snapshotId !== "string") return snapshotId;
  const sample = await sampleSnapshot(snapshotId, input, d);
  if ("status" in sample) return sample;
  if (sample.files.length === 0) {
    return verdict(drillReport({ snapshotId, files: [], emptyReason: sample.emptyReason }), null);
  }
  let dir: string;
  try {
    dir = await mkdtemp(join(d.tempDir, DRILL_FOLDER_PREFIX));
    // mkdtemp makes it 0700 already; said again so that a umask or a platform cannot widen it.
    await chmod(dir, 0o700);
  } catch (err) {
    return failed(-1, `could not make the drill's private folder in ${d.tempDir}: ${errorText(err)}`);
  }
  try {
    const outcome = await restoreAndCheck(snapshotId, sample.files, dir, d);
    const report = outcome.stats?.drill as DrillReport | undefined;
    if (report) {
      d.log(
        `drill ${report.result}: ${report.files_verified} of ${report.files_requested} files restored and ` +
          `verified (${report.bytes} bytes), ${report.live_matched} identical to the live file, ` +
          `${report.mismatched.length} differing from an unchanged live file`,
      );
    }
    return outcome;
  } finally {
    await removeFolder(dir, d.log);
  }
}

/** restic's run, with the answers every step gives the same way: cancelled, not started. */
async function step(d: DrillDeps, args: string[], out: StepOutput): Promise<Outcome | { exitCode: number }> {
  const result = await d.restic(args, out);
  if (d.cancelRequested()) return cancelled(result.exitCode, `while restic ${args[0]} ran`);
  if (!result.started) return failed(-1, `could not start restic (${d.resticPath}): ${result.error}`);
  return { exitCode: result.exitCode };
}

/** The full id of the drill's snapshot: this host's latest, or the given id once it is seen to be this host's. */
async function resolveSnapshot(wanted: string, d: DrillDeps): Promise<Outcome | string> {
  const out = d.output(false);
  const lines: string[] = [];
  // One short JSON line (the snapshot list); kept for parsing rather than logged.
  out.stdout = (line) => lines.push(line);
  const latest = wanted === "latest";
  const ran = await step(d, latest ? latestSnapshotArgv(d.globals.host) : snapshotLookupArgv(wanted), out);
  if ("status" in ran) return ran;
  if (ran.exitCode !== 0) return resticFailed(ran.exitCode, out);
  const found = parseJsonLine(lines, ResticSnapshotList)?.[0];
  if (!found) {
    const error = latest
      ? `host "${d.globals.host}" has no snapshot in the repository yet: a drill needs a backup first`
      : `snapshot ${wanted} does not exist in the repository: pick one from the host's snapshot list`;
    return failed(-1, error, "snapshot_missing");
  }
  const owner = found.hostname ?? "";
  if (!d.hosts.includes(owner)) {
    return failed(
      -1,
      `snapshot ${found.short_id ?? wanted} belongs to host "${owner}", not to this host ` +
        `("${d.hosts.join('" or "')}"): a drill tests only this host's own snapshots`,
      "other_host",
    );
  }
  return found.id;
}

async function sampleSnapshot(
  snapshotId: string,
  input: DrillInput,
  d: DrillDeps,
): Promise<Outcome | { files: SnapshotFile[]; emptyReason: string }> {
  const sampler = new DrillSampler({ count: input.sampleFiles, maxBytes: input.maxBytes, random: d.random });
  const out = d.output(false);
  // Every node of the snapshot streams through the sampler; none is logged or kept beyond it.
  out.stdout = sampler.feed;
  const ran = await step(d, drillListArgv(snapshotId, d.globals), out);
  if ("status" in ran) return ran;
  if (ran.exitCode !== 0) return resticFailed(ran.exitCode, out);
  const files = sampler.pick();
  const short = snapshotId.slice(0, 8);
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  const roots = sampler.snapshotPaths?.length ?? 0;
  d.log(
    `drill: sampled ${files.length} of ${sampler.files} regular files (${bytes} bytes) of snapshot ${short} ` +
      `across ${roots} top-level paths`,
  );
  let emptyReason = `no file of snapshot ${short} could be sampled`;
  if (sampler.files === 0) {
    emptyReason = `snapshot ${short} has no regular file (only directories, links or special files), so there is nothing to restore`;
  } else if (sampler.tooBig === sampler.files) {
    emptyReason = `every file of snapshot ${short} is larger than max_bytes (${input.maxBytes} bytes): raise max_bytes`;
  }
  return { files, emptyReason };
}

async function restoreAndCheck(
  snapshotId: string,
  sample: SnapshotFile[],
  dir: string,
  d: DrillDeps,
): Promise<Outcome> {
  const out = d.output(true);
  const errors = new RestoreErrors();
  const logged = out.stderr;
  // restic names each file it could not restore on stderr; the report names them too.
  out.stderr = (line) => {
    errors.note(line);
    logged(line);
  };
  const paths = sample.map((f) => f.path);
  const ran = await step(d, drillRestoreArgv(snapshotId, dir, paths, d.globals, d.escapeInclude), out);
  if ("status" in ran) return ran;
  // 130 without our cancel: something outside the agent interrupted restic (resticFailed: cancelled).
  if (ran.exitCode === 130) return resticFailed(ran.exitCode, out);
  const files: DrillFile[] = [];
  for (const f of sample) {
    if (d.cancelRequested()) return cancelled(ran.exitCode, "while the drill checked the restored files");
    const error = errors.byPath.get(f.path);
    files.push(await checkFile(f, dir, error === undefined ? undefined : d.redact(error), d.platform));
  }
  const restore =
    ran.exitCode === 0
      ? { exitCode: 0 }
      : {
          exitCode: ran.exitCode,
          error: out.stderrTail.slice(-STDERR_TAIL_LINES).join("\n").slice(0, MAX_ERROR_CHARS),
        };
  if (ran.exitCode === 0) return verdict(drillReport({ snapshotId, files, restore }), null);
  // A restore that failed for a reason of its own (locked, wrong password, network) says so.
  const failure = classifyFailure(out.stderrTail, ran.exitCode, out.exitErrorCode);
  return verdict(drillReport({ snapshotId, files, restore }), {
    exitCode: ran.exitCode,
    reason: failure.reason === "unknown" ? "drill_failed" : failure.reason,
  });
}

/** The job's outcome for a report: succeeded when it passed, failed with its reason otherwise. */
function verdict(report: DrillReport, restic: { exitCode: number; reason: FailureReason } | null): Outcome {
  const short = report.snapshot_id.slice(0, 8);
  if (report.result === "passed") {
    return { status: "succeeded", exitCode: 0, stats: { drill: report } };
  }
  const error = [`restore drill of snapshot ${short} failed: ${report.reason}`, report.restic_error]
    .filter(Boolean)
    .join("\n")
    .slice(0, MAX_ERROR_CHARS * 4);
  const outcome = failed(restic?.exitCode ?? -1, error, restic?.reason ?? "drill_failed");
  return { ...outcome, stats: { ...(outcome.stats ?? {}), drill: report } };
}

/**
 * Removes the drill folders a previous run left in tempDir (a crash or kill -9 mid-drill: only a
 * running drill removes its own). For the agent's start, beside removeLeftoverPasswordFiles.
 */
export async function removeLeftoverDrillFolders(tempDir: string, log: (text: string) => void): Promise<number> {
  const names = await readdir(tempDir).catch(() => [] as string[]);
  const left = names.filter((n) => n.startsWith(DRILL_FOLDER_PREFIX));
  for (const name of left) await removeFolder(join(tempDir, name), log);
  return left.length;
}

/**
 * Removes the drill's folder; never throws. restic restores directories with the snapshot's
 * modes, so one stored as 0500 would refuse the removal of its children: on failure every
 * directory is made writable for its owner and the removal tried again.
 */
async function removeFolder(dir: string, log: (text: string) => void): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
    return;
  } catch {
    // made writable below
  }
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    await chmod(dir, 0o700);
    for (const e of entries) if (e.isDirectory()) await chmod(join(e.parentPath, e.name), 0o700).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  } catch (err) {
    log(`could not remove the drill's folder ${dir}: ${errorText(err)}; remove it by hand`);
  }
}
