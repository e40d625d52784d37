import * as v from "valibot";
import {
  type BackupSpec,
  type CheckSpec,
  type CommandRunPayload,
  type ForgetSpec,
  KEEP_WITHIN,
  READ_DATA_SUBSET,
  ResticHost,
  type RestoreSpec,
  SNAPSHOT_ID,
} from "../../../protocol/index.ts";
import type { RestoreSource } from "./restore-source.ts";
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

/** What one job runs: restic steps in order, the backup inputs, and the hooks. */
export interface JobPlan {
  steps: string[][];
  /**
   * A restore of a snapshot given by id: restic ignores `--host` for explicit ids, so the job looks
   * the snapshot up first and refuses it unless its host is one of these.
   */
  restoreOf?: RestoreSource & { spec: RestoreSpec };
  backup?: BackupInput;
  preHook?: string;
  postHook?: string;
}

export interface BackupInput {
  paths: string[];
  excludes: string[];
  tags: string[];
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

/** One snapshot by id, whatever its host (restic ignores --host for ids), to check whose it is. */
export function snapshotLookupArgv(snapshotId: string): string[] {
  return ["snapshots", "--json", "--no-lock", snapshotId];
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

export function backupArgv(input: BackupInput, g: GlobalFlags): string[] {
  return [
    "backup",
    ...common(g, true),
    ...hostScope(g.host),
    ...input.excludes.map((e) => `--exclude=${e}`),
    ...input.tags.map((t) => `--tag=${t}`),
    "--",
    ...input.paths,
  ];
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
      // Reads every restored file back and compares it with the snapshot (exists in 0.14).
      "--verify",
      ...includes.value.map((p) => `--include=${escapeGlob(p, g.platform)}`),
    ],
  };
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
        const own = g.machineHost && g.machineHost !== g.host ? [g.host, g.machineHost] : [g.host];
        plan.restoreOf = { snapshotId: spec.snapshot_id, hosts: spec.source_host ? [spec.source_host] : own, spec };
      }
      return { ok: true, value: plan };
    }
    case "drill":
      return { ok: false, error: "restore drills are not supported by this agent yet" };
    default: {
      const never: never = cmd;
      return { ok: false, error: `unknown job kind ${JSON.stringify((never as { kind: string }).kind)}` };
    }
  }
}
