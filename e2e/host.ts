import { join } from "node:path";
import { type AgentProc, agentCommand, type EventWatcher, type Fleet, runAgentCli, startAgent } from "./fleet.ts";

export const RESTIC = process.env.RF_TEST_RESTIC ?? "restic";
const TERMINAL = ["succeeded", "failed", "cancelled"];

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
  async enroll(opts: { hostname?: string; repoUrl?: string } = {}): Promise<void> {
    const token = await this.fleet.api<{ token: string }>("/enrollment-tokens", "POST", { uses: 1 });
    const r = runAgentCli([
      "enroll",
      "--server",
      this.fleet.url,
      "--token",
      token.body.token,
      "--state-dir",
      this.stateDir,
      ...(opts.hostname ? ["--hostname", opts.hostname] : []),
    ]);
    if (r.code !== 0) throw new Error(`enroll failed (${r.code}): ${r.stderr}`);
    this.hostId = /host (\S+);/.exec(r.stdout)?.[1] ?? "";
    await this.fleet.api(`/hosts/${this.hostId}/config`, "PUT", {
      repo_url: opts.repoUrl ?? join(this.work, "repo"),
      repo_password: "e2e-repo-password",
    });
  }

  async start(): Promise<AgentProc> {
    const events = this.events ?? (await this.watch());
    const from = events.seen.length;
    this.agent = startAgent(this.stateDir, { RF_RESTIC: this.restic }, this.command);
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
