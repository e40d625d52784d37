import { join } from "node:path";
import { RESTIC, resticOn } from "../agent/src/testing/int-helpers.ts";
import { type AgentProc, agentCommand, type EventWatcher, type Fleet, runAgentCli, startAgent } from "./fleet.ts";

export { RESTIC } from "../agent/src/testing/int-helpers.ts";

const TERMINAL = ["succeeded", "failed", "cancelled"];
/** The repository password enroll gives every host. */
export const REPO_PASSWORD = "e2e-repo-password";

/**
 * Runs restic directly on a repository, not through an agent: for set-up that a test is not about,
 * and to read the repository itself. `scratch` is a folder of the test's (password file, HOME).
 */
export function resticDirect(repo: string, args: string[], scratch: string) {
  return resticOn({ repo, password: REPO_PASSWORD, scratch }, args);
}

export interface Job {
  id: string;
  kind: string;
  status: string;
  actor_kind: string;
  scheduled_id: string | null;
  error: string | null;
  stats: Record<string, unknown> | null;
}

/** One enrolled host with its agent process, on a fleet, plus the calls the suites use. */
export class TestHost {
  agent: AgentProc | null = null;
  hostId = "";
  events: EventWatcher | null = null;

  constructor(
    readonly fleet: Fleet,
    readonly work: string,
    /** The agent command (the compiled binary by default; e.g. qemu plus the arm64 binary). */
    readonly command: string[] = agentCommand(),
    /** The restic the agent runs. */
    readonly restic: string = RESTIC,
  ) {}

  get stateDir(): string {
    return join(this.work, "state");
  }

  async watch(): Promise<EventWatcher> {
    this.events?.close();
    this.events = await this.fleet.events();
    return this.events;
  }

  /**
   * Enrolls with a fresh token and points the host at a repository: its own under `work`, or
   * `opts.repoUrl` (one shared by several hosts). `opts.hostname` is the name it enrolls with.
   */
  async enroll(
    opts: {
      hostname?: string;
      /** null: no repository settings of its own (its policies give it one). */
      repoUrl?: string | null;
      /** An enrollment token to use (e.g. one with labels); a fresh one-use token otherwise. */
      token?: string;
      args?: string[];
      env?: Record<string, string>;
    } = {},
  ): Promise<void> {
    const token = opts.token
      ? { body: { token: opts.token } }
      : await this.fleet.api<{ token: string }>("/enrollment-tokens", "POST", { uses: 1 });
    const r = runAgentCli(
      [
        "enroll",
        "--server",
        this.fleet.url,
        "--token",
        token.body.token,
        "--state-dir",
        this.stateDir,
        ...(opts.hostname ? ["--hostname", opts.hostname] : []),
        ...(opts.args ?? []),
      ],
      opts.env,
    );
    if (r.code !== 0) throw new Error(`enroll failed (${r.code}): ${r.stderr}`);
    this.hostId = /host (\S+);/.exec(r.stdout)?.[1] ?? "";
    if (opts.repoUrl === null) return;
    await this.fleet.api(`/hosts/${this.hostId}/config`, "PUT", {
      repo_url: opts.repoUrl ?? join(this.work, "repo"),
      repo_password: REPO_PASSWORD,
    });
  }

  /** Points the host at another repository (same password); the agent applies it before its next job. */
  async useRepo(repoUrl: string): Promise<void> {
    const r = await this.fleet.api(`/hosts/${this.hostId}/config`, "PUT", { repo_url: repoUrl });
    if (r.status !== 200) throw new Error(`PUT config failed (${r.status}): ${JSON.stringify(r.body)}`);
  }

  /** Starts the agent; `env` over the defaults (e.g. RF_POLICY: the open policy unless given). */
  async start(env: Record<string, string> = {}): Promise<AgentProc> {
    const events = this.events ?? (await this.watch());
    const from = events.seen.length;
    this.agent = startAgent(this.stateDir, { RF_RESTIC: this.restic, ...env }, this.command);
    await events.until((e) => e.type === "host.updated" && e.host_id === this.hostId && e.online === true, from);
    return this.agent;
  }

  async stop(): Promise<void> {
    if (!this.agent) return;
    this.agent.proc.kill("SIGTERM");
    await this.agent.proc.exited;
    this.agent = null;
  }

  async runNow(body: Record<string, unknown>): Promise<Job> {
    const res = await this.fleet.api<Job>(`/hosts/${this.hostId}/jobs`, "POST", body);
    if (res.status !== 201) throw new Error(`run-now failed: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async job(id: string): Promise<Job> {
    return (await this.fleet.api<Job>(`/jobs/${id}`)).body;
  }

  /** Waits for the job's terminal state: from the event stream, or already stored. */
  async finished(jobId: string): Promise<Job> {
    const events = this.events ?? (await this.watch());
    const from = events.seen.length;
    const now = await this.job(jobId);
    if (TERMINAL.includes(now.status)) return now;
    await events.until(
      (e) => e.type === "job.updated" && e.job_id === jobId && TERMINAL.includes(e.status ?? ""),
      from,
    );
    return this.job(jobId);
  }

  /**
   * Runs a job to its end and returns it. With `report`, also waits for that report of the host
   * (snapshots.updated, repo_stats.updated): the agent sends its reports after job.finished.
   */
  async run(body: Record<string, unknown>, report?: "snapshots.updated" | "repo_stats.updated"): Promise<Job> {
    const events = this.events ?? (await this.watch());
    const from = events.seen.length;
    const job = await this.finished((await this.runNow(body)).id);
    if (report) await events.until((e) => e.type === report && e.host_id === this.hostId, from);
    return job;
  }
}

/**
 * The shared-repository tests' two hosts: web-a and web-b, enrolled on one repository (its URL may
 * be a `{host}` template), each watched, and started unless `start` is false.
 */
export async function enrollPair(
  fleet: Fleet,
  work: string,
  repoUrl: string,
  o: { start?: boolean } = {},
): Promise<[TestHost, TestHost]> {
  const a = new TestHost(fleet, join(work, "a"));
  const b = new TestHost(fleet, join(work, "b"));
  for (const [h, name] of [
    [a, "web-a"],
    [b, "web-b"],
  ] as const) {
    await h.watch();
    await h.enroll({ hostname: name, repoUrl });
    if (o.start !== false) await h.start();
  }
  return [a, b];
}
