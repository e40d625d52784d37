import type { CommandRunPayload } from "../../../protocol/index.ts";
import type { Clock } from "../clock.ts";
import { ChildControl, quote } from "./child-control.ts";
import { classifyFailure } from "./classify.ts";
import { hookArgv, hookEnv } from "./hooks.ts";
import type { LogBatcher } from "./log-batcher.ts";
import { openResticSession, type ResticSession, SessionRefused } from "./restic-session.ts";
import { errorText, type ProcessResult, runProcess } from "./run-process.ts";
import type { Redact } from "./secrets.ts";
import { type PipeResult, runPiped } from "./stdin-pipe.ts";
import { stdinCommandEnv, subprocessPrefix } from "./stdin-source.ts";
import { StepOutput } from "./step-output.ts";
import type { ChildLike, Emit, RepoConfig, SpawnFn } from "./types.ts";

/** The seams and settings a job's processes need (part of JobContext). */
export interface ProcessSeams {
  resticPath: string;
  spawn: SpawnFn;
  clock: Clock;
  emit: Emit;
  /** Where the password file goes. */
  tempDir: string;
  cacheDir?: string;
  cancelGraceMs: number;
}

/**
 * Every process one job starts: restic through the repository's session, hooks with their own
 * environment. The first process to start sends job.started, and a cancel reaches whichever one
 * runs (ChildControl: SIGINT, then SIGKILL). JobRun decides what runs; this runs it.
 */
export class JobProcesses {
  readonly #cmd: CommandRunPayload;
  readonly #ctx: ProcessSeams;
  readonly #log: LogBatcher;
  readonly #redact: Redact;
  readonly #hookShell: string | undefined;
  readonly #control: ChildControl;
  #session: ResticSession | null = null;
  /** A copy's source repository (the session's repository is then the target). */
  #from: RepoConfig | undefined;
  #started = false;
  #resticSpawned = false;
  #cancelRequested = false;

  constructor(o: {
    cmd: CommandRunPayload;
    ctx: ProcessSeams;
    log: LogBatcher;
    redact: Redact;
    /** The repository's hook_shell (hooks.ts). */
    hookShell: string | undefined;
  }) {
    const { ctx, log } = o;
    this.#cmd = o.cmd;
    this.#ctx = ctx;
    this.#log = log;
    this.#redact = o.redact;
    this.#hookShell = o.hookShell;
    this.#control = new ChildControl(ctx.clock, ctx.cancelGraceMs, (text) => log.add("event", text));
  }

  /** Whether any restic of the job has started (only then can it have left a lock). */
  get resticSpawned(): boolean {
    return this.#resticSpawned;
  }

  /** Interrupts the running process, and every later one as it starts. */
  interrupt(): void {
    this.#cancelRequested = true;
    this.#control.interrupt();
  }

  /** Writes the repository's password file, for the restic runs that follow; close() removes it. */
  async open(repo: RepoConfig, from?: RepoConfig): Promise<void> {
    const { resticPath, spawn, clock, tempDir, cacheDir } = this.#ctx;
    const o = { resticPath, repo, spawn, clock, tempDir, cacheDir, ...(from ? { from } : {}) };
    this.#from = from;
    this.#session = await openResticSession(o).catch((err) => {
      if (err instanceof SessionRefused) throw err;
      throw new Error(`could not write the password file in ${tempDir}: ${errorText(err)}`);
    });
  }

  async close(): Promise<void> {
    await this.#session?.close();
  }

  /** One restic step, its output read by `out`; the command and its exit code go to the job log. */
  async restic(args: string[], out: StepOutput): Promise<ProcessResult> {
    const session = this.#openSession();
    this.#log.add("event", `$ ${session.argv(args).map(quote).join(" ")}`);
    const result = await this.#attached(true, (onSpawn) =>
      session.run(args, { onStdout: out.stdout, onStderr: out.stderr, onSpawn }),
    );
    if (result.started) this.#log.add("event", `restic ${args[0]} exited with code ${result.exitCode}`);
    return result;
  }

  /** The environment restic runs with (the session's): what a stdin command must not inherit. */
  resticEnv(): Readonly<Record<string, string>> {
    return this.#openSession().env;
  }

  /**
   * A stdin backup on restic without --stdin-from-command: the agent starts the command and
   * pipes its stdout into `restic backup --stdin` (stdin-pipe.ts). The command's stderr goes to
   * the job log with the prefix restic >= 0.17 gives it, so both paths read alike.
   */
  async piped(args: string[], out: StepOutput, command: readonly string[]): Promise<PipeResult> {
    const session = this.#openSession();
    const { spawn, clock } = this.#ctx;
    this.#log.add("event", `$ ${command.map(quote).join(" ")} | ${session.argv(args).map(quote).join(" ")}`);
    const prefix = subprocessPrefix(command);
    const result = await runPiped({
      spawn,
      clock,
      command,
      env: stdinCommandEnv(this.#cmd.job_id),
      fifoDir: this.#ctx.tempDir,
      runRestic: (stdin, onResticSpawn) =>
        this.#attached(true, (onSpawn) =>
          session.run(args, {
            stdin,
            onStdout: out.stdout,
            onStderr: out.stderr,
            onSpawn: (child) => {
              onSpawn(child);
              onResticSpawn(child);
            },
          }),
        ),
      attach: (child) => this.#onSpawn(false, child),
      detach: (child) => this.#control.detach(child),
      stop: (child) => this.#control.stop(child),
      onStderr: (line) => this.#log.add("stderr", `${prefix}${line}`),
      cancelRequested: () => this.#cancelRequested,
    });
    if (!result.command.started) {
      this.#log.add("event", `the stdin command could not start: ${this.#redact(result.command.error)}`);
    } else {
      this.#log.add("event", `the stdin command exited with code ${result.command.exitCode}`);
    }
    if (result.restic?.started) this.#log.add("event", `restic ${args[0]} exited with code ${result.restic.exitCode}`);
    return result;
  }

  /** A read-only restic run whose stdout is kept for parsing, not logged; its stderr is logged. */
  async capture(args: string[]): Promise<{ result: ProcessResult; out: StepOutput; lines: string[] }> {
    const out = new StepOutput(this.#cmd.job_id, this.#log, null, this.#redact);
    const lines: string[] = [];
    const session = this.#openSession();
    this.#log.add("event", `$ ${session.argv(args).map(quote).join(" ")}`);
    const result = await this.#attached(true, (onSpawn) =>
      session.run(args, { onStdout: (l) => lines.push(l), onStderr: out.stderr, onSpawn }),
    );
    return { result, out, lines };
  }

  /** Runs a pre- or post-hook; its last 20 output lines (redacted) come back for the job's error. */
  async hook(script: string, phase: "pre" | "post", status?: "succeeded" | "failed") {
    this.#log.add("event", `running the ${phase}-hook`);
    const tailLines: string[] = [];
    const onLine = (stream: "stdout" | "stderr") => (line: string) => {
      this.#log.add(stream, line);
      tailLines.push(this.#redact(line));
      if (tailLines.length > 20) tailLines.shift();
    };
    const argv = hookArgv(this.#hookShell, script);
    const env = hookEnv({ jobId: this.#cmd.job_id, kind: this.#cmd.kind }, phase, status);
    const { spawn, clock } = this.#ctx;
    const [onStdout, onStderr] = [onLine("stdout"), onLine("stderr")];
    const result = await this.#attached(false, (onSpawn) =>
      runProcess({ spawn, clock, argv, env, onStdout, onStderr, onSpawn }),
    );
    if (!result.started) tailLines.push(this.#redact(`could not start ${argv[0]}: ${result.error}`));
    this.#log.add("event", `${phase}-hook exited with code ${result.exitCode}`);
    return { exitCode: result.exitCode, tailLines, tail: tailLines.slice(-5).join("\n") };
  }

  /** An interrupted or killed restic leaves its lock behind (0.14: the next check fails); remove it. */
  async unlockAfterCancel(): Promise<void> {
    this.#log.add("event", "removing the stale lock: restic unlock");
    const out = new StepOutput(this.#cmd.job_id, this.#log, null, this.#redact);
    // Not attached to the cancel: the job is interrupted already, and this run must not be.
    const result = await this.#openSession().run(["unlock"], { onStdout: out.stdout, onStderr: out.stderr });
    if (!result.started) this.#log.add("event", `restic unlock could not start: ${result.error}`);
    else if (result.exitCode !== 0) {
      this.#log.add("event", `restic unlock failed: ${classifyFailure(out.stderrTail, result.exitCode).summary}`);
    }
    // restic copy also holds a lock on its source, the host's own repository.
    const from = this.#from;
    if (!from) return;
    this.#log.add("event", "removing the stale lock on the copy's source: restic unlock");
    const { resticPath, spawn, clock, tempDir, cacheDir } = this.#ctx;
    const source = await openResticSession({ resticPath, repo: from, spawn, clock, tempDir, cacheDir }).catch(
      () => null,
    );
    if (!source) return;
    try {
      const done = await source.run(["unlock"], { onStdout: out.stdout, onStderr: out.stderr });
      if (done.started && done.exitCode !== 0) {
        this.#log.add("event", `restic unlock failed: ${classifyFailure(out.stderrTail, done.exitCode).summary}`);
      }
    } finally {
      await source.close();
    }
  }

  /** Runs one process of the job: the first to start sends job.started, and a cancel reaches it. */
  #attached(
    isRestic: boolean,
    start: (onSpawn: (child: ChildLike) => void) => Promise<ProcessResult>,
  ): Promise<ProcessResult> {
    let spawned: ChildLike | null = null;
    const onSpawn = (child: ChildLike) => {
      spawned = child;
      this.#onSpawn(isRestic, child);
    };
    return start(onSpawn).finally(() => {
      if (spawned) this.#control.detach(spawned);
    });
  }

  /** The first process of the job to start sends job.started; a cancel reaches every one. */
  #onSpawn(isRestic: boolean, child: ChildLike): void {
    if (isRestic) this.#resticSpawned = true;
    if (!this.#started) {
      this.#started = true;
      this.#ctx.emit("job.started", {
        job_id: this.#cmd.job_id,
        kind: this.#cmd.kind,
        started_at: this.#ctx.clock.now().toISOString(),
      });
    }
    this.#control.attach(child);
  }

  #openSession(): ResticSession {
    if (!this.#session) throw new Error("restic ran before the repository's password file was written");
    return this.#session;
  }
}
