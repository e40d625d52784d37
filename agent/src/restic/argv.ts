import * as v from "valibot";
import {
  type BackupSpec,
  type CheckSpec,
  type CommandRunPayload,
  type CopySpec,
  type DrillSpec,
  type ForgetSpec,
  KEEP_WITHIN,
  READ_DATA_SUBSET,
  ResticHost,
  type RestoreSpec,
  SNAPSHOT_HEX_ID,
  SNAPSHOT_ID,
  type TagSpec,
  tagChangeProblem,
} from "../../../protocol/index.ts";
import { DEFAULT_MAX_BYTES, DEFAULT_SAMPLE_FILES, parseByteSize } from "./drill-sample.ts";
import type { RestoreSource } from "./restore-source.ts";
import { type StdinInput, stdinInput } from "./stdin-source.ts";
import type { ResticFeatures } from "./types.ts";
import {
  type Checked,
  checkAbsolutePath,
  checkAll,
  checkDuration,
  checkTag,
  checkText,
  escapeGlob,
} from "./validate.ts";

/**
 * The fixed argv builders, one per job kind. They return restic's arguments without the binary.
 * Every server string is either a `--flag=VALUE` value or a path after `--`, so none can become a
 * flag of its own.
 */

export interface GlobalFlags {
  features: ResticFeatures;
  /**
   * This host's restic host name, fixed at enrollment. Every command that writes
   * or selects snapshots carries it, so in a repository shared by many hosts each one touches
   * only its own snapshots.
   */
  host: string;
  /**
   * The machine's hostname when it differs from `host`: the name an agent before protocol 2 wrote
   * into this machine's snapshots. Only a restore by id accepts it (those snapshots are this
   * machine's own); retention and the mirror never select it.
   */
  machineHost?: string;
  /** `--retry-lock` value when the version has it; null for none. */
  retryLock: string | null;
  platform?: NodeJS.Platform;
}

/** Forget by id or re-tag: the ids, looked up first (snapshot-actions.ts), must be `hosts`' snapshots. */
export interface SnapshotAction {
  action: "forget" | "tag";
  ids: string[];
  hosts: string[];
  tag?: TagSpec;
}

/** What one job runs: restic steps in order, the backup inputs, and the hooks. */
export interface JobPlan {
  steps: string[][];
  /**
   * A restore of a snapshot given by id: restic ignores `--host` for explicit ids, so the job looks
   * the snapshot up first and refuses it unless its host is one of these.
   */
  restoreOf?: RestoreSource & { spec: RestoreSpec };
  backup?: BackupInput;
  /** Forget by id or tag: looked up and checked first, then run (snapshot-actions.ts), before `steps`. */
  snapshotAction?: SnapshotAction;
  /** A restore drill: its own steps (drill.ts), not `steps`. */
  drill?: DrillInput;
  /** A copy to a target: its own steps (copy.ts) against the target, not `steps`. */
  copy?: CopyInput;
  preHook?: string;
  postHook?: string;
}

export interface BackupInput {
  /** Empty for a stdin backup. */
  paths: string[];
  excludes: string[];
  tags: string[];
  /** A backup of a command's output instead of paths (stdin-source.ts). */
  stdin?: StdinInput;
}

// `--json` is a global flag in every version: commands without JSON output (0.14's init, check,
// restore, unlock) ignore it, and newer versions print JSON where they can.
function common(g: GlobalFlags, locks: boolean): string[] {
  const flags = ["--json"];
  if (locks && g.features.retryLock && g.retryLock) flags.push(`--retry-lock=${g.retryLock}`);
  return flags;
}

/**
 * `--host=NAME`: the one place that scopes a command to one host's snapshots. backup writes the
 * name into the snapshot; forget, snapshots, `restore latest`, `ls` and `dump` select by it.
 * Without it, restic's forget applies this host's policy to every host of a shared repository.
 */
export function hostScope(host: string): string[] {
  return [`--host=${host}`];
}

/** The snapshot list for the mirror: this host's snapshots only, read-only (--no-lock). */
export function snapshotsArgv(host: string): string[] {
  return ["snapshots", "--json", "--no-lock", ...hostScope(host)];
}

/**
 * Snapshots by id, whatever their host (restic ignores --host for ids, 0.14 and 0.18), to check
 * whose they are. The ids come checked (hex or latest), so none can be taken for a flag.
 */
export function snapshotLookupArgv(...snapshotIds: string[]): string[] {
  return ["snapshots", "--json", "--no-lock", ...snapshotIds];
}

/**
 * Browse (browse.ts): `ls` of one path, read-only (--no-lock, beside any running job). With
 * a directory it prints the snapshot, the directory's own node and its direct children (measured
 * on 0.14 and 0.18). `--host` only for latest: restic ignores it for an explicit id (0.14 says
 * "Ignoring filters"), whose owner the caller checks from the snapshot line instead.
 */
export function lsArgv(snapshotId: string, path: string, latestHost: string): string[] {
  const scope = snapshotId === "latest" ? hostScope(latestHost) : [];
  return ["ls", "--json", "--no-lock", ...scope, "--", snapshotId, path];
}

/**
 * Download (download.ts): `dump` of one file, or of a directory as a tar (`--archive=tar`,
 * restic's default in 0.14 and 0.18, stated so it cannot drift), to stdout. Always given the full
 * id that `ls` resolved, so the bytes come from the snapshot whose owner was checked.
 */
export function dumpArgv(fullSnapshotId: string, path: string, dir: boolean): string[] {
  return ["dump", "--json", "--no-lock", ...(dir ? ["--archive=tar"] : []), "--", fullSnapshotId, path];
}

/** `restic init`: it takes no lock (there is no repository to lock yet). */
export function initArgv(g: GlobalFlags): string[] {
  return ["init", ...common(g, false)];
}

/**
 * Whether the repository exists and opens (auto_init's probe): `cat config` reads one small file
 * after the key. --no-lock: an exclusive lock (a prune elsewhere) must not make it fail; the
 * backup after it waits for the lock as usual.
 */
export function repoProbeArgv(g: GlobalFlags): string[] {
  return ["cat", "config", ...common(g, false), "--no-lock"];
}

export function backupInput(spec: BackupSpec | undefined, args: string[] | undefined): Checked<BackupInput> {
  const stdin = stdinInput(spec);
  if (!stdin.ok) return stdin;
  if (stdin.value) {
    if (args?.length) return { ok: false, error: "a backup reads paths or a command's output, not both" };
    const tags = checkAll(spec?.tags ?? [], (t) => checkTag(t));
    if (!tags.ok) return tags;
    return { ok: true, value: { paths: [], excludes: [], tags: tags.value, stdin: stdin.value } };
  }
  // `args` keeps its original wire meaning (paths for backup) when the spec has none.
  const rawPaths = spec?.paths ?? args ?? [];
  if (rawPaths.length === 0) return { ok: false, error: "a backup needs at least one path" };
  const paths = checkAll(rawPaths, (p) => checkAbsolutePath(p, "backup path"));
  if (!paths.ok) return paths;
  const excludes = checkAll(spec?.excludes ?? [], (e) => checkText(e, "exclude"));
  if (!excludes.ok) return excludes;
  const tags = checkAll(spec?.tags ?? [], (t) => checkTag(t));
  if (!tags.ok) return tags;
  return { ok: true, value: { paths: paths.value, excludes: excludes.value, tags: tags.value } };
}

/**
 * A backup of paths, or of a command's output: with `command` (restic >= 0.17; stdin-source.ts
 * builds it) restic runs it, the program and its arguments after `--`; without, restic reads
 * its stdin, which the agent fills (stdin-pipe.ts). Either way scoped with --host.
 */
export function backupArgv(input: BackupInput, g: GlobalFlags, command?: readonly string[]): string[] {
  const head = ["backup", ...common(g, true), ...hostScope(g.host)];
  const tags = input.tags.map((t) => `--tag=${t}`);
  if (input.stdin) {
    const name = `--stdin-filename=${input.stdin.filename}`;
    return command
      ? [...head, ...tags, "--stdin-from-command", name, "--", ...command]
      : [...head, ...tags, "--stdin", name];
  }
  return [...head, ...input.excludes.map((e) => `--exclude=${e}`), ...tags, "--", ...input.paths];
}

const KEEP_FLAGS = [
  ["keep_last", "--keep-last"],
  ["keep_hourly", "--keep-hourly"],
  ["keep_daily", "--keep-daily"],
  ["keep_weekly", "--keep-weekly"],
  ["keep_monthly", "--keep-monthly"],
  ["keep_yearly", "--keep-yearly"],
] as const;

export function forgetArgv(spec: ForgetSpec | undefined, g: GlobalFlags): Checked<string[]> {
  const policy = spec?.policy ?? {};
  const flags: string[] = [];
  // 0 means "not set" to restic 0.14, so a zero rule is left out rather than sent.
  for (const [key, flag] of KEEP_FLAGS) {
    const n = policy[key];
    if (n !== undefined && n > 0) flags.push(`${flag}=${n}`);
  }
  if (policy.keep_within) {
    if (!KEEP_WITHIN.test(policy.keep_within)) {
      return { ok: false, error: `keep_within ${JSON.stringify(policy.keep_within)} is not a duration such as 7d` };
    }
    flags.push(`--keep-within=${policy.keep_within}`);
  }
  const keepTags = checkAll(policy.keep_tags ?? [], (t) => checkTag(t, "keep_tags entry"));
  if (!keepTags.ok) return keepTags;
  flags.push(...keepTags.value.map((t) => `--keep-tag=${t}`));
  // restic with no rule removes nothing but says so only in prose; refuse instead, loudly.
  if (flags.length === 0)
    return { ok: false, error: "the retention policy keeps nothing explicitly; refusing to forget" };
  // `--prune` is never passed: 0.14 prints prune's plain text on stdout after forget's JSON line,
  // so the prune runs as its own step.
  // Grouped by host and paths explicitly (restic's default, stated so that it cannot drift): with
  // --host only this host's snapshots are in the groups at all.
  return { ok: true, value: ["forget", ...common(g, true), ...hostScope(g.host), "--group-by=host,paths", ...flags] };
}

export function checkArgv(spec: CheckSpec | undefined, g: GlobalFlags): Checked<string[]> {
  const argv = ["check", ...common(g, true)];
  const subset = spec?.read_data_subset;
  if (subset !== undefined) {
    if (!READ_DATA_SUBSET.test(subset)) {
      return { ok: false, error: `read_data_subset ${JSON.stringify(subset)} must be like 10%, 1/5 or 500M` };
    }
    argv.push(`--read-data-subset=${subset}`);
  }
  return { ok: true, value: argv };
}

export function restoreArgv(spec: RestoreSpec | undefined, g: GlobalFlags): Checked<string[]> {
  if (!spec) return { ok: false, error: "a restore needs a spec with snapshot_id and target" };
  if (!SNAPSHOT_ID.test(spec.snapshot_id)) {
    return { ok: false, error: `snapshot_id ${JSON.stringify(spec.snapshot_id)} must be a snapshot id or latest` };
  }
  const target = checkAbsolutePath(spec.target, "restore target", g.platform);
  if (!target.ok) return target;
  const includes = checkAll(spec.include ?? [], (p) => checkText(p, "include path"));
  if (!includes.ok) return includes;
  // `latest` is this host's latest, or the source host's when the spec asks for another host's.
  const scope = spec.snapshot_id === "latest" ? hostScope(spec.source_host ?? g.host) : [];
  return {
    ok: true,
    value: [
      "restore",
      spec.snapshot_id,
      ...common(g, true),
      ...scope,
      `--target=${target.value}`,
      // Reads every restored file back and compares it with the snapshot (exists in 0.14);
      // on unless the spec says `verify: false` (protocol 7), as before it.
      ...(spec.verify !== false ? ["--verify"] : []),
      ...includes.value.map((p) => `--include=${escapeGlob(p, g.platform)}`),
    ],
  };
}

/** What a drill runs on, from its spec with the protocol's defaults filled in (drill.ts runs it). */
export interface DrillInput {
  /** `latest` (this host's) or an id, looked up and checked to be this host's before use. */
  snapshotId: string;
  sampleFiles: number;
  maxBytes: number;
}

export function drillInput(spec: DrillSpec | undefined): Checked<DrillInput> {
  const snapshotId = spec?.snapshot_id ?? "latest";
  if (!SNAPSHOT_ID.test(snapshotId)) {
    return { ok: false, error: `snapshot_id ${JSON.stringify(snapshotId)} must be a snapshot id or latest` };
  }
  const sampleFiles = spec?.sample_files ?? DEFAULT_SAMPLE_FILES;
  // The protocol caps it at 1000, so that one restore's argv of --include flags stays bounded.
  if (!Number.isInteger(sampleFiles) || sampleFiles < 1 || sampleFiles > 1000) {
    return { ok: false, error: `sample_files ${sampleFiles} must be a whole number from 1 to 1000` };
  }
  const maxBytes = spec?.max_bytes === undefined ? DEFAULT_MAX_BYTES : parseByteSize(spec.max_bytes);
  if (maxBytes === null || maxBytes < 1) {
    return { ok: false, error: `max_bytes ${JSON.stringify(spec?.max_bytes)} must be a size such as 100M or 2G` };
  }
  return { ok: true, value: { snapshotId, sampleFiles, maxBytes } };
}

/** This host's latest snapshot, to pin the drill to one full id (a backup may land meanwhile). */
export function latestSnapshotArgv(host: string): string[] {
  return ["snapshots", "--json", "--no-lock", ...hostScope(host), "latest"];
}

/**
 * Every node of the drill's snapshot, given by the full id already checked to be this host's
 * (restic ignores --host for ids). It takes the usual non-exclusive lock, as the restore after it
 * does, so a prune elsewhere cannot remove packs under it.
 */
export function drillListArgv(fullSnapshotId: string, g: GlobalFlags): string[] {
  return ["ls", ...common(g, true), "--", fullSnapshotId];
}

/**
 * The drill's one restore: the sampled files by exact path (escaped, since restic's includes are
 * globs and `weird[1].txt` unescaped matches nothing), read back with --verify, into the drill's
 * private folder. `escapeInclude` is a seam for the test that shows a broken escape fails the drill.
 */
export function drillRestoreArgv(
  fullSnapshotId: string,
  target: string,
  paths: readonly string[],
  g: GlobalFlags,
  escapeInclude: (literal: string) => string = (p) => escapeGlob(p, g.platform),
): string[] {
  return [
    "restore",
    fullSnapshotId,
    ...common(g, true),
    `--target=${target}`,
    "--verify",
    ...paths.map((p) => `--include=${escapeInclude(p)}`),
  ];
}

/** What a copy job runs (copy.ts): the target by id, and its retention (forget args, prune). */
export interface CopyInput {
  targetId: string;
  /** `forget --host` on the target after the copy; null when the target keeps everything. */
  forget: string[] | null;
  prune: boolean;
}

/**
 * `restic copy --host=H`, run against the DESTINATION (RESTIC_REPOSITORY is the target): the source
 * is the host's own repository, given as RESTIC_FROM_REPOSITORY and RESTIC_FROM_PASSWORD_FILE in
 * the environment (restic-session.ts), never on the command line. Only this host's snapshots are
 * copied; restic skips those the target already holds.
 */
export function copyArgv(g: GlobalFlags): string[] {
  return ["copy", ...common(g, true), ...hostScope(g.host)];
}

/** A new copy target, initialised with the source's chunker parameters so the copy deduplicates. */
export function copyInitArgv(g: GlobalFlags): string[] {
  return ["init", ...common(g, false), "--copy-chunker-params"];
}

export function copyInput(spec: CopySpec | undefined, g: GlobalFlags): Checked<CopyInput> {
  if (!spec) return { ok: false, error: "a copy needs a spec with the target_id" };
  let forget: string[] | null = null;
  if (spec.policy && Object.keys(spec.policy).length > 0) {
    const f = forgetArgv({ policy: spec.policy }, g);
    if (!f.ok) return { ok: false, error: `the target's retention policy: ${f.error}` };
    forget = f.value;
  }
  return { ok: true, value: { targetId: spec.target_id, forget, prune: spec.prune === true } };
}

/** Whose snapshots are this host's: its restic host name, and the machine's (older agents'). */
function ownHosts(g: GlobalFlags): string[] {
  return g.machineHost && g.machineHost !== g.host ? [g.host, g.machineHost] : [g.host];
}

/** The plan for one command.run; an error names what the server sent wrong. */
export function buildPlan(cmd: CommandRunPayload, g: GlobalFlags): Checked<JobPlan> {
  if (g.retryLock !== null && !checkDuration(g.retryLock).ok) {
    return { ok: false, error: `retry-lock ${JSON.stringify(g.retryLock)} is not a duration` };
  }
  if (!v.is(ResticHost, g.host)) {
    return { ok: false, error: `this host's restic host name ${JSON.stringify(g.host)} is not usable with --host` };
  }
  switch (cmd.kind) {
    case "backup": {
      const input = backupInput(cmd.spec, cmd.args);
      if (!input.ok) return input;
      const plan: JobPlan = { steps: [backupArgv(input.value, g)], backup: input.value };
      if (cmd.spec?.pre_hook) plan.preHook = cmd.spec.pre_hook;
      if (cmd.spec?.post_hook) plan.postHook = cmd.spec.post_hook;
      return { ok: true, value: plan };
    }
    case "init":
      return { ok: true, value: { steps: [initArgv(g)] } };
    case "forget": {
      const ids = cmd.spec?.snapshot_ids;
      if (ids !== undefined) {
        if (cmd.spec?.policy !== undefined) {
          return { ok: false, error: "a forget names snapshot_ids or a retention policy, not both" };
        }
        const bad = ids.find((id) => !SNAPSHOT_HEX_ID.test(id));
        if (bad !== undefined || ids.length === 0) {
          return { ok: false, error: `snapshot id ${JSON.stringify(bad ?? "")} must be 8-64 hex digits` };
        }
        // Not pruned unless asked: the space is freed by the next prune.
        const steps = cmd.spec?.prune ? [["prune", ...common(g, true)]] : [];
        return { ok: true, value: { steps, snapshotAction: { action: "forget", ids, hosts: ownHosts(g) } } };
      }
      const forget = forgetArgv(cmd.spec, g);
      if (!forget.ok) return forget;
      const steps = [forget.value];
      if (cmd.spec?.prune) steps.push(["prune", ...common(g, true)]);
      return { ok: true, value: { steps } };
    }
    case "prune":
      return { ok: true, value: { steps: [["prune", ...common(g, true)]] } };
    case "check": {
      const check = checkArgv(cmd.spec, g);
      return check.ok ? { ok: true, value: { steps: [check.value] } } : check;
    }
    case "unlock":
      // unlock takes no lock, so it never waits for one.
      return { ok: true, value: { steps: [["unlock", ...common(g, false)]] } };
    case "restore": {
      const restore = restoreArgv(cmd.spec, g);
      if (!restore.ok) return restore;
      const plan: JobPlan = { steps: [restore.value] };
      // restoreArgv refused a restore without a spec, so there is one here.
      const spec = cmd.spec;
      if (spec && spec.snapshot_id !== "latest") {
        plan.restoreOf = {
          snapshotId: spec.snapshot_id,
          hosts: spec.source_host ? [spec.source_host] : ownHosts(g),
          spec,
        };
      }
      return { ok: true, value: plan };
    }
    case "tag": {
      const spec = cmd.spec;
      if (!spec || !SNAPSHOT_HEX_ID.test(spec.snapshot_id)) {
        return { ok: false, error: "a tag job needs a spec with the snapshot_id (8-64 hex digits)" };
      }
      const problem = tagChangeProblem(spec);
      if (problem) return { ok: false, error: `${problem.field}: ${problem.problem}` };
      return {
        ok: true,
        value: { steps: [], snapshotAction: { action: "tag", ids: [spec.snapshot_id], hosts: ownHosts(g), tag: spec } },
      };
    }
    case "drill": {
      const drill = drillInput(cmd.spec);
      return drill.ok ? { ok: true, value: { steps: [], drill: drill.value } } : drill;
    }
    case "copy": {
      const copy = copyInput(cmd.spec, g);
      return copy.ok ? { ok: true, value: { steps: [], copy: copy.value } } : copy;
    }
    default: {
      const never: never = cmd;
      return { ok: false, error: `unknown job kind ${JSON.stringify((never as { kind: string }).kind)}` };
    }
  }
}
