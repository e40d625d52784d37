import type { CommandRunPayload, ReportedHostPolicy } from "../../../protocol/index.ts";
import { policyRefusal, type RepositoryPin } from "../policy/policy-check.ts";
import { backupArgv, buildPlan, type GlobalFlags, type JobPlan, restoreArgv, snapshotLookupArgv } from "./argv.ts";
import { ensureRepository } from "./auto-init.ts";
import { missingPaths } from "./child-control.ts";
import { classifyFailure, repositoryPresence } from "./classify.ts";
import { type CopyDeps, runCopy } from "./copy.ts";
import { type DrillDeps, runDrill } from "./drill.ts";
import type { Capture, LastCheck, SnapshotSizes } from "./follow-up.ts";
import { JobProcesses, type ProcessSeams } from "./job-processes.ts";
import { LogBatcher } from "./log-batcher.ts";
import { cancelled, failed, type Outcome, resticFailed, resticSucceeded, withPostHookFailure } from "./outcome.ts";
import { ProgressThrottle } from "./progress.ts";
import { reportAfter } from "./reports.ts";
import { checkStats } from "./restic-json.ts";
import { SessionRefused } from "./restic-session.ts";
import { judgeRestoreSource, type RestoreSource } from "./restore-source.ts";
import { restoreTargetProblem } from "./restore-target.ts";
import { errorText, type ProcessResult } from "./run-process.ts";
import { type Redact, redactorFor, usableRepo } from "./secrets.ts";
import { runSnapshotAction } from "./snapshot-actions.ts";
import {
  commandFailedError,
  resticCommandFailure,
  resticRunsCommand,
  type StdinInput,
  stdinCommandArgv,
  subprocessPrefix,
} from "./stdin-source.ts";
import { forgetCounts, StepOutput } from "./step-output.ts";
import type { RepoConfig, ResticFeatures } from "./types.ts";

/** What a job needs from the supervisor: the seams, the settings and the shared memory. */
export interface JobContext extends ProcessSeams {
  policy: ReportedHostPolicy;
  repositoryPin: () => RepositoryPin | null;
  heldTokens: () => readonly string[];
  progressIntervalMs: number;
  logBatchMs: number;
  retryLock: string | null;
  getFeatures: () => Promise<ResticFeatures>;
  /** This host's restic host name (`--host`), and the machine's hostname (see GlobalFlags). */
  resticHost: string;
  machineHost?: string;
  /** Whether a job has already said that the machine's hostname differs from resticHost. */
  hostNotice: { shown: boolean };
  sizes: SnapshotSizes;
  lastCheck: { value: LastCheck | null };
  /** auto_init: repository URLs seen to exist in this agent run, so only a first backup probes. */
  knownRepos: Set<string>;
}

/**
 * One job from start to job.finished, then its reports: the plan, hooks and restic steps (whose
 * processes JobProcesses runs), on cancel the SIGINT → SIGKILL → `restic unlock` sequence, and
 * after job.finished the snapshots/stats reports. run() never throws; every failure ends as a
 * job.finished with status failed.
 */
export class JobRun {
  readonly id: string;
  readonly #cmd: CommandRunPayload;
  readonly #ctx: JobContext;
  readonly #repo: RepoConfig | null;
  readonly #redact: Redact;
  readonly #log: LogBatcher;
  readonly #progress: ProgressThrottle;
  #cancelRequested = false;
  /** The outcome is decided; a cancel now only stops the reports. */
  #settled = false;
  #finished = false;
  readonly #processes: JobProcesses;

  constructor(cmd: CommandRunPayload, ctx: JobContext, repo: RepoConfig | null) {
    this.id = cmd.job_id;
    this.#cmd = cmd;
    this.#ctx = ctx;
    this.#repo = repo;
    this.#redact = redactorFor(repo, ctx.heldTokens());
    this.#log = new LogBatcher({
      jobId: cmd.job_id,
      clock: ctx.clock,
      emit: ctx.emit,
      batchMs: ctx.logBatchMs,
      redact: this.#redact,
    });
    this.#progress = new ProgressThrottle({ clock: ctx.clock, emit: ctx.emit, intervalMs: ctx.progressIntervalMs });
    this.#processes = new JobProcesses({ cmd, ctx, log: this.#log, redact: this.#redact, hookShell: repo?.hook_shell });
  }

  /** SIGINT now, SIGKILL after the grace period. false when the job has already finished. */
  cancel(): boolean {
    if (this.#finished) {
      // Only the reports may still run (the agent is stopping): stop them, quietly.
      this.#cancelRequested = true;
      this.#processes.interrupt();
      return false;
    }
    if (this.#cancelRequested) return true;
    this.#cancelRequested = true;
    this.#log.add("event", this.#settled ? "cancel requested: stopping the reports" : "cancel requested");
    this.#processes.interrupt();
    return true;
  }

  async run(): Promise<void> {
    let outcome: Outcome;
    // The reports (snapshots, stats, locks) only inform: they run after job.finished, so the
    // job's end is not held back by four more restic runs (bench 1: 1.49x -> ~1.05x bare restic
    // on a 500 MiB backup). The job keeps its queue slot until they are done.
    let reports: (() => Promise<void>) | null = null;
    try {
      const prepared = await this.#prepare();
      if ("status" in prepared) {
        outcome = prepared;
      } else if (!(await this.#open(prepared))) {
        outcome = failed(-1, this.#openError, "target_missing");
      } else {
        const result = prepared.plan.copy
          ? await runCopy(prepared.plan.copy, this.#copyDeps(prepared.globals, prepared.autoInit === true))
          : await this.#execute(prepared.repo, prepared.plan, prepared.globals);
        outcome = result;
        this.#settled = true;
        this.#progress.stop();
        if (this.#cancelRequested && result.status === "cancelled") {
          if (this.#processes.resticSpawned) await this.#processes.unlockAfterCancel();
        } else {
          reports = () => reportAfter(this.#cmd, result, this.#reportDeps());
        }
      }
    } catch (err) {
      outcome = failed(-1, `internal error in the agent: ${errorText(err)}`);
    } finally {
      this.#progress.stop();
    }
    this.#finish(outcome);
    try {
      if (reports) await reports();
    } catch (err) {
      this.#log.add("event", `the reports after the job failed: ${errorText(err)}`);
    } finally {
      // The reports' own lines (their commands, a failure) follow job.finished in the job's log.
      this.#log.flush();
      await this.#processes.close();
    }
  }

  #openError = "";

  /**
   * The job's restic session: the host's repository, or for a copy the target with the host's
   * repository as the source. false (with #openError) when a copy's two repositories cannot share
   * one environment.
   */
  async #open(p: { repo: RepoConfig; copyTarget?: RepoConfig }): Promise<boolean> {
    try {
      if (p.copyTarget) await this.#processes.open(p.copyTarget, p.repo);
      else await this.#processes.open(p.repo);
      return true;
    } catch (err) {
      if (!(err instanceof SessionRefused)) throw err;
      this.#openError = err.message;
      return false;
    }
  }

  async #prepare(): Promise<
    Outcome | { repo: RepoConfig; plan: JobPlan; globals: GlobalFlags; copyTarget?: RepoConfig; autoInit?: boolean }
  > {
    const repo = this.#repo;
    if (!usableRepo(repo)) {
      return failed(-1, "no repository is configured on this host: the server has not sent repo_url and repo_password");
    }
    const features = await this.#ctx.getFeatures();
    if (this.#cancelRequested) return cancelled(-1, "before restic started");
    const { resticHost, machineHost } = this.#ctx;
    const globals: GlobalFlags = {
      features,
      retryLock: this.#ctx.retryLock,
      host: resticHost,
      ...(machineHost ? { machineHost } : {}),
    };
    const plan = buildPlan(this.#cmd, globals);
    if (!plan.ok) return failed(-1, `invalid ${this.#cmd.kind} job: ${plan.error}`);
    const refusal = await policyRefusal(
      {
        hooks: !!(plan.value.preHook || plan.value.postHook),
        stdinCommand: !!plan.value.backup?.stdin,
        repoUrl: repo.repo_url,
        ...(this.#cmd.kind === "restore" && this.#cmd.spec ? { restoreTarget: this.#cmd.spec.target } : {}),
        ...(plan.value.backup ? { backupPaths: plan.value.backup.paths } : {}),
      },
      this.#ctx.policy,
      this.#ctx.repositoryPin(),
    );
    if (refusal) return failed(-1, refusal, "policy");
    const copy = plan.value.copy;
    if (copy) {
      const target = repo.copy_targets?.find((t) => t.id === copy.targetId);
      if (!target?.repo_url || !target.repo_password) {
        const why = target
          ? "the server has not sent its password (an insecure link withholds it)"
          : "the server has not sent its settings";
        return failed(-1, `copy target ${copy.targetId} is not usable on this host: ${why}`, "target_missing");
      }
      const targetRefusal = await policyRefusal({ hooks: false, repoUrl: target.repo_url }, this.#ctx.policy, null);
      if (targetRefusal) return failed(-1, `copy target ${copy.targetId}: ${targetRefusal}`, "policy");
      const copyTarget: RepoConfig = {
        repo_url: target.repo_url,
        repo_password: target.repo_password,
        ...(target.repo_env ? { repo_env: target.repo_env } : {}),
      };
      return { repo, plan: plan.value, globals, copyTarget, autoInit: target.auto_init === true };
    }
    if (this.#cmd.kind === "restore" && this.#cmd.spec) {
      const staging = this.#ctx.policy.restore_targets?.[0];
      const problem = await restoreTargetProblem(this.#cmd.spec.target, { staging });
      if (problem) return failed(-1, problem, "target_unwritable");
    }
    return { repo, plan: plan.value, globals };
  }

  /** Once per agent run, in the first job that writes or selects snapshots (those carry `--host`). */
  #hostNotice(): void {
    const { resticHost, machineHost, hostNotice } = this.#ctx;
    const kind = this.#cmd.kind;
    if (hostNotice.shown || !machineHost || machineHost === resticHost) return;
    if (kind !== "backup" && kind !== "forget" && kind !== "restore" && kind !== "drill" && kind !== "tag") return;
    hostNotice.shown = true;
    this.#log.add(
      "event",
      `note: this host's snapshots carry the restic host name "${resticHost}" (its enrolled name), ` +
        `not the machine's hostname "${machineHost}". Snapshots made under "${machineHost}" by an older ` +
        "agent are left alone by this host's retention and mirror; docs/agent.md (restic host name) " +
        "says how to rename them.",
    );
  }

  /** A restore by id: the snapshot is looked up first (see restore-source.ts). */
  async #checkRestoreSource(want: RestoreSource): Promise<Outcome | string> {
    const { result, out, lines } = await this.#processes.capture(snapshotLookupArgv(want.snapshotId));
    if (this.#cancelRequested) return cancelled(result.exitCode, "while looking up the snapshot");
    if (!result.started) return failed(-1, `could not start restic (${this.#ctx.resticPath}): ${result.error}`);
    if (result.exitCode !== 0) return resticFailed(result.exitCode, out);
    return judgeRestoreSource(lines, want);
  }

  async #execute(repo: RepoConfig, plan: JobPlan, globals: GlobalFlags): Promise<Outcome> {
    const steps = [...plan.steps];
    this.#hostNotice();
    if (plan.drill) return runDrill(plan.drill, this.#drillDeps(globals));
    const extra: Record<string, unknown> = {};
    if (plan.snapshotAction) {
      const done = await runSnapshotAction(plan.snapshotAction, {
        capture: (args) => this.#processes.capture(args),
        restic: (args, out) => this.#processes.restic(args, out),
        output: () => new StepOutput(this.id, this.#log, null, this.#redact),
        log: (text) => this.#log.add("event", text),
        cancelRequested: () => this.#cancelRequested,
        globals,
      });
      // A re-tagged snapshot is the same backup under a new id: its size (0.14 stores none in the
      // snapshot; this agent remembered it at the backup) goes with it.
      const [was, now] = [done.stats?.previous_snapshot_id, done.stats?.snapshot_id];
      const size = typeof was === "string" ? this.#ctx.sizes.get(was) : undefined;
      if (size && typeof now === "string") this.#ctx.sizes.remember(now, size);
      if (done.status !== "succeeded" || steps.length === 0) return done;
      // A forget by id with prune: the prune step follows, and the job's stats keep what was forgotten.
      Object.assign(extra, done.stats);
    }
    if (plan.restoreOf) {
      const source = await this.#checkRestoreSource(plan.restoreOf);
      if (typeof source !== "string") return source;
      // The full id just checked, so a short id cannot resolve to another snapshot in between.
      const restore = restoreArgv({ ...plan.restoreOf.spec, snapshot_id: source }, globals);
      if (!restore.ok) return failed(-1, restore.error);
      steps[0] = restore.value;
    }
    let missing: string[] = [];
    const stdin = plan.backup?.stdin;
    // restic >= 0.17 runs the command itself; the env wrapper needs the session's variables.
    const viaRestic = stdin && resticRunsCommand(globals.features) ? stdin : null;
    if (plan.backup && stdin) {
      const command = viaRestic ? stdinCommandArgv(stdin.command, this.#processes.resticEnv(), this.id) : undefined;
      steps[0] = backupArgv(plan.backup, globals, command);
      const initOutcome = repo.auto_init ? await this.#autoInit(repo.repo_url, globals) : null;
      if (initOutcome) return initOutcome;
    } else if (plan.backup) {
      // restic 0.14 skips a missing path with one stderr line and exits 0: check first.
      missing = await missingPaths(plan.backup.paths);
      if (missing.length === plan.backup.paths.length) {
        return failed(-1, `none of the backup paths exist on this host: ${missing.join(", ")}`, "paths_missing");
      }
      const paths = plan.backup.paths.filter((p) => !missing.includes(p));
      steps[0] = backupArgv({ ...plan.backup, paths }, globals);
      // Before the pre-hook: a repository that cannot be made must not stop the host's services.
      const initOutcome = repo.auto_init ? await this.#autoInit(repo.repo_url, globals) : null;
      if (initOutcome) return initOutcome;
    }
    if (plan.preHook) {
      const hook = await this.#processes.hook(plan.preHook, "pre");
      if (this.#cancelRequested) return cancelled(hook.exitCode, "during the pre-hook");
      if (hook.exitCode !== 0) {
        return failed(
          hook.exitCode,
          `pre-hook failed with exit code ${hook.exitCode}; restic did not run\n${hook.tail}`,
        );
      }
    }
    let outcome: Outcome | null = null;
    for (const args of steps) {
      if (this.#cancelRequested) return cancelled(-1, "between steps");
      const out = new StepOutput(this.id, this.#log, this.#progress, this.#redact);
      let result: ProcessResult;
      if (stdin && args[0] === "backup") {
        const ran = await this.#stdinBackup(args, out, stdin, viaRestic !== null);
        if ("status" in ran) return ran;
        result = ran;
      } else {
        result = await this.#processes.restic(args, out);
      }
      if (this.#cancelRequested) return cancelled(result.exitCode, `while restic ${args[0]} ran`);
      if (!result.started) return failed(-1, `could not start restic (${this.#ctx.resticPath}): ${result.error}`);
      const forget = args[0] === "forget" ? forgetCounts(out.otherJson) : null;
      if (forget) Object.assign(extra, forget);
      const check = args[0] === "check" && out.summary ? checkStats(out.summary) : null;
      if (check) extra.check = check;
      if (result.exitCode !== 0 && result.exitCode !== 3) {
        outcome = resticFailed(result.exitCode, out);
        break;
      }
      const skipped = [...missing, ...out.skippedPaths.filter((p) => !missing.includes(p))];
      outcome = resticSucceeded(args[0] ?? "", result.exitCode, out, skipped, plan.backup?.paths.length ?? 0);
      if (plan.backup && out.summary?.snapshot_id) this.#rememberSize(out.summary);
    }
    if (!outcome) return failed(-1, "the job had no restic step");
    if (Object.keys(extra).length > 0) outcome = { ...outcome, stats: { ...(outcome.stats ?? {}), ...extra } };
    if (plan.postHook) {
      const status = outcome.status === "succeeded" ? "succeeded" : "failed";
      const hook = await this.#processes.hook(plan.postHook, "post", status);
      if (this.#cancelRequested) return cancelled(hook.exitCode, "during the post-hook");
      if (hook.exitCode !== 0) outcome = withPostHookFailure(outcome, hook.exitCode, hook.tailLines);
    }
    return outcome;
  }

  #copyDeps(globals: GlobalFlags, autoInit: boolean): CopyDeps {
    return {
      processes: this.#processes,
      output: () => new StepOutput(this.id, this.#log, this.#progress, this.#redact),
      log: (text) => this.#log.add("event", text),
      cancelRequested: () => this.#cancelRequested,
      resticPath: this.#ctx.resticPath,
      globals,
      autoInit,
    };
  }

  /**
   * A stdin backup's restic step (stdin-source.ts): restic runs the command, or the agent pipes
   * it. A failed command fails the job with its stderr, as `command_failed`; neither path leaves
   * a snapshot then. Anything else comes back as restic's result, judged as any backup's.
   */
  async #stdinBackup(
    args: string[],
    out: StepOutput,
    stdin: StdinInput,
    viaRestic: boolean,
  ): Promise<Outcome | ProcessResult> {
    const program = stdin.command;
    if (viaRestic) {
      const result = await this.#processes.restic(args, out);
      if (this.#cancelRequested || !result.started || result.exitCode === 0) return result;
      const failure = resticCommandFailure(out.stderrTail, subprocessPrefix(args.slice(args.indexOf("--") + 1)));
      if (!failure) return result;
      return failed(result.exitCode, commandFailedError(program, failure.verdict, failure.lines), "command_failed");
    }
    const piped = await this.#processes.piped(args, out, program);
    if (this.#cancelRequested) return cancelled(piped.restic?.exitCode ?? -1, "while the stdin backup ran");
    if (!piped.command.started) {
      return failed(
        -1,
        `the stdin command ${program[0]} could not start: ${piped.command.error}; restic did not run`,
        "command_failed",
      );
    }
    const code = piped.command.exitCode;
    if (code !== 0) {
      const verdict = code > 128 ? `killed by signal ${code - 128}` : `exit code ${code}`;
      return failed(code, commandFailedError(program, verdict, piped.stderrTail), "command_failed");
    }
    return piped.restic ?? failed(-1, "restic did not run");
  }

  #drillDeps(globals: GlobalFlags): DrillDeps {
    const { resticHost, machineHost } = this.#ctx;
    return {
      restic: (args, out) => this.#processes.restic(args, out),
      output: (progress) => new StepOutput(this.id, this.#log, progress ? this.#progress : null, this.#redact),
      log: (text) => this.#log.add("event", text),
      cancelRequested: () => this.#cancelRequested,
      redact: this.#redact,
      resticPath: this.#ctx.resticPath,
      tempDir: this.#ctx.tempDir,
      globals,
      // As a restore by id: snapshots an older agent wrote under the machine's hostname are this host's.
      hosts: machineHost && machineHost !== resticHost ? [resticHost, machineHost] : [resticHost],
      random: Math.random,
    };
  }

  #autoInit(repoUrl: string, globals: GlobalFlags): Promise<Outcome | null> {
    return ensureRepository(repoUrl, globals, {
      processes: this.#processes,
      output: () => new StepOutput(this.id, this.#log, null, this.#redact),
      log: (text) => this.#log.add("event", text),
      known: this.#ctx.knownRepos,
      cancelRequested: () => this.#cancelRequested,
      resticPath: this.#ctx.resticPath,
    });
  }

  #rememberSize(summary: { snapshot_id?: string; total_bytes_processed?: number; total_files_processed?: number }) {
    if (!summary.snapshot_id) return;
    this.#ctx.sizes.remember(summary.snapshot_id, {
      size_bytes: Math.max(0, Math.floor(summary.total_bytes_processed ?? 0)),
      file_count: Math.max(0, Math.floor(summary.total_files_processed ?? 0)),
    });
  }

  #reportDeps() {
    const capture: Capture = async (args) => {
      if (this.#cancelRequested) return { ok: false, error: "cancelled" };
      const { result, out, lines } = await this.#processes.capture(args);
      if (!result.started) return { ok: false, error: result.error };
      if (result.exitCode !== 0) {
        const error = classifyFailure(out.stderrTail, result.exitCode, out.exitErrorCode).error;
        const repoMissing = repositoryPresence(out.stderrTail, result.exitCode, out.exitErrorCode) === "missing";
        return { ok: false, error, ...(repoMissing ? { repoMissing } : {}) };
      }
      return { ok: true, stdout: lines };
    };
    return {
      jobId: this.id,
      capture,
      emit: this.#ctx.emit,
      log: (text: string) => this.#log.add("event", text),
      host: this.#ctx.resticHost,
      sizes: this.#ctx.sizes,
      lastCheck: this.#ctx.lastCheck,
      now: () => this.#ctx.clock.now().toISOString(),
    };
  }

  #finish(outcome: Outcome): void {
    this.#finished = true;
    this.#log.add("event", `job ${outcome.status}${outcome.error ? `: ${outcome.error.split("\n")[0]}` : ""}`);
    // Every line of the job itself goes out before job.finished, so the server has its log when it closes the job.
    this.#log.flush();
    this.#ctx.emit("job.finished", {
      job_id: this.id,
      status: outcome.status,
      exit_code: outcome.exitCode,
      finished_at: this.#ctx.clock.now().toISOString(),
      ...(outcome.stats ? { stats: outcome.stats } : {}),
      ...(outcome.error ? { error: this.#redact(outcome.error) } : {}),
      ...(outcome.status === "failed" && outcome.reason ? { failure_reason: outcome.reason } : {}),
      ...(outcome.warnings?.length ? { warnings: outcome.warnings.map((w) => this.#redact(w).slice(0, 1024)) } : {}),
    });
  }
}
