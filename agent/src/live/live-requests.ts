import type {
  AgentMessageType,
  DownloadStartPayload,
  FilesListPayload,
  PayloadOf,
  ReportedHostPolicy,
  RepoTestPayload,
  RequestError,
  SnapshotsDiffPayload,
} from "../../../protocol/index.ts";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { policyRefusal, type RepositoryPin } from "../policy/policy-check.ts";
import { checkSnapshotPath, listDirectory } from "../restic/browse.ts";
import { diffSnapshots } from "../restic/diff.ts";
import { CreditGate, type DownloadReport, runDownload } from "../restic/download.ts";
import type { LiveRun, SnapshotScope } from "../restic/live-run.ts";
import { testRepository } from "../restic/repo-test.ts";
import { openResticSession } from "../restic/restic-session.ts";
import { errorText } from "../restic/run-process.ts";
import { redactorFor, usableRepo } from "../restic/secrets.ts";
import type { RepoConfig, SpawnFn } from "../restic/types.ts";

/** Browse and download requests served at once; one more is answered `busy`. */
export const MAX_LIVE_REQUESTS = 4;

export interface LiveOptions {
  resticPath: string;
  spawn: SpawnFn;
  clock: Clock;
  log: Logger;
  /** The Supervisor's: password files (0600, removed after each request) and restic's cache. */
  tempDir: string;
  cacheDir?: string;
  /** SIGINT, then SIGKILL after this long; --no-lock runs leave no lock, so 10 s is plenty. */
  cancelGraceMs?: number;
  /** How long a download waits for credit (download.ts CREDIT_STALL_MS). */
  stallMs?: number;
  getRepo: () => RepoConfig | null;
  policy: ReportedHostPolicy;
  repositoryPin: () => RepositoryPin | null;
  heldTokens: () => readonly string[];
  /** This host's restic host name, and the machine's hostname (older agents' snapshots). */
  resticHost: string;
  machineHost?: string;
  /** Live-only: a reply lost with the link is not retried (the server times the request out). */
  send: <T extends AgentMessageType>(type: T, payload: PayloadOf<T>) => boolean;
  /** How long one step of a repository test may take (repo-test.ts TEST_STEP_TIMEOUT_MS). */
  testStepTimeoutMs?: number;
  /** A download's bytes, as one binary frame (protocol/chunk-frame.ts); live-only too. */
  sendChunk: (requestId: string, seq: number, bytes: Uint8Array) => boolean;
}

interface Running {
  kind: "browse" | "download" | "diff" | "test";
  abort: AbortController;
  gate: CreditGate | null;
  done: Promise<void>;
}

/**
 * The agent's browse (files.list) and download (download.*) requests. They are not jobs: they run
 * read-only restic (`--no-lock`) beside whatever the Supervisor runs, answer only live (never
 * through the outbox), and at most MAX_LIVE_REQUESTS at once. Each starts in the background, so
 * the message loop is free at once for the credit a running download waits for.
 */
export class LiveRequests {
  readonly #o: LiveOptions;
  readonly #running = new Map<string, Running>();
  /** What the last downloads did (most recent last), for tests and a status line. */
  readonly downloads: Array<{ request_id: string } & DownloadReport> = [];

  constructor(o: LiveOptions) {
    this.#o = o;
  }

  get active(): number {
    return this.#running.size;
  }

  filesList(p: FilesListPayload): void {
    const reply = (body: Omit<PayloadOf<"files.listed">, "request_id">) =>
      this.#o.send("files.listed", { request_id: p.request_id, ...body });
    this.#start(
      "browse",
      p,
      null,
      (error) => reply({ error }),
      async (run, path) => {
        const page = await listDirectory(run, path, { offset: p.offset, limit: p.limit });
        reply(page.ok ? page.value : { error: page.error });
      },
    );
  }

  /** snapshots.diff: two of this host's snapshots compared (restic/diff.ts); one snapshots.diffed. */
  diff(p: SnapshotsDiffPayload): void {
    const reply = (body: Omit<PayloadOf<"snapshots.diffed">, "request_id">) =>
      this.#o.send("snapshots.diffed", { request_id: p.request_id, ...body });
    this.#start(
      "diff",
      { request_id: p.request_id, snapshot_id: p.from, path: null },
      null,
      (error) => reply({ error }),
      async (run) => {
        const diffed = await diffSnapshots(run, p);
        reply(diffed.ok ? diffed.value : { error: diffed.error });
      },
    );
  }

  downloadStart(p: DownloadStartPayload): void {
    const id = p.request_id;
    const gate = new CreditGate(p.window, this.#o.clock, this.#o.stallMs);
    const begin = (body: Omit<PayloadOf<"download.begin">, "request_id">) =>
      this.#o.send("download.begin", { request_id: id, ...body });
    this.#start(
      "download",
      p,
      gate,
      (error) => begin({ error }),
      async (run, path) => {
        const report = await runDownload(run, { path }, gate, {
          begin,
          chunk: (seq, data) => this.#o.sendChunk(id, seq, data),
          end: (body) => this.#o.send("download.end", { request_id: id, ...body }),
        });
        this.downloads.push({ request_id: id, ...report });
        if (this.downloads.length > 20) this.downloads.shift();
        this.#o.log.info("download ended", {
          request_id: id,
          bytes: report.bytes,
          ...(report.error ? { error: report.error.code } : {}),
        });
      },
    );
  }

  /**
   * repo.test (protocol 8): tests the repository the server sent (not this host's own settings),
   * within the host's policy on repositories, and answers one repo.tested. Counts as a live request.
   */
  repoTest(p: RepoTestPayload): void {
    const o = this.#o;
    const id = p.request_id;
    const reply = (body: Omit<PayloadOf<"repo.tested">, "request_id">) => {
      o.send("repo.tested", { request_id: id, ...body });
    };
    const refuse = (error: string) => reply({ reachable: false, initialised: false, password_ok: false, error });
    if (this.#running.has(id)) return;
    if (this.#running.size >= MAX_LIVE_REQUESTS) {
      refuse(`this agent is already serving ${MAX_LIVE_REQUESTS} live requests: try again when one has finished`);
      return;
    }
    const repo: RepoConfig = {
      repo_url: p.repo_url,
      repo_password: p.repo_password,
      ...(p.repo_username ? { repo_username: p.repo_username } : {}),
      ...(p.repo_credential ? { repo_credential: p.repo_credential } : {}),
      ...(p.repo_env ? { repo_env: p.repo_env } : {}),
    };
    const redact = redactorFor(repo, o.heldTokens());
    const entry: Running = { kind: "test", abort: new AbortController(), gate: null, done: Promise.resolve() };
    this.#running.set(id, entry);
    const run = async () => {
      const refusal = await policyRefusal({ hooks: false, repoUrl: repo.repo_url }, o.policy, o.repositoryPin());
      if (refusal) return refuse(refusal);
      const { resticPath, spawn, clock, tempDir, cacheDir } = o;
      const session = await openResticSession({
        resticPath,
        repo,
        spawn,
        clock,
        tempDir,
        ...(cacheDir ? { cacheDir } : {}),
      });
      try {
        const result = await testRepository({
          session,
          clock,
          redact,
          ...(o.testStepTimeoutMs ? { timeoutMs: o.testStepTimeoutMs } : {}),
        });
        o.log.info("tested a repository", {
          request_id: id,
          reachable: result.reachable,
          initialised: result.initialised,
          password_ok: result.password_ok,
        });
        reply(result);
      } finally {
        await session.close();
      }
    };
    entry.done = run()
      .catch((err) => refuse(redact(`internal error in the agent: ${errorText(err)}`)))
      .finally(() => this.#running.delete(id));
  }

  /** download.credit: that many more chunks may go. Unknown ids (already ended) are ignored. */
  credit(requestId: string, chunks: number): void {
    this.#running.get(requestId)?.gate?.grant(chunks);
  }

  /** Resolves when this download waits for credit (nothing reads restic's stdout then); for tests. */
  whenWaitingForCredit(requestId: string): Promise<void> {
    return this.#running.get(requestId)?.gate?.whenWaiting() ?? Promise.resolve();
  }

  /** download.cancel: stops restic; the download ends with error `cancelled`. */
  cancel(requestId: string): boolean {
    const r = this.#running.get(requestId);
    if (!r) return false;
    r.abort.abort();
    return true;
  }

  /** The link closed (nobody can receive the rest) or the agent stops: end every request. */
  cancelAll(): void {
    for (const r of this.#running.values()) r.abort.abort();
  }

  /** Resolves once every request has ended (its restic gone, its password file removed). */
  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running.values()].map((r) => r.done));
  }

  async stop(): Promise<void> {
    this.cancelAll();
    await this.settled();
  }

  #start(
    kind: Running["kind"],
    p: { request_id: string; snapshot_id: string; path: string | null; source_host?: string | undefined },
    gate: CreditGate | null,
    refuse: (error: RequestError) => void,
    work: (run: LiveRun, path: string) => Promise<void>,
  ): void {
    const id = p.request_id;
    if (this.#running.has(id)) {
      this.#o.log.info("ignored a repeated request that is still running", { request_id: id });
      return;
    }
    // A diff names no path; browse and download must name a good one.
    const path = p.path === null ? ({ ok: true, value: "/" } as const) : checkSnapshotPath(p.path);
    if (!path.ok) {
      refuse({ code: "failed", message: path.error });
      return;
    }
    if (this.#running.size >= MAX_LIVE_REQUESTS) {
      refuse({
        code: "busy",
        message: `this agent is already serving ${MAX_LIVE_REQUESTS} browse, download or compare requests: try again when one has finished`,
      });
      return;
    }
    const abort = new AbortController();
    const entry: Running = { kind, abort, gate, done: Promise.resolve() };
    this.#running.set(id, entry);
    entry.done = this.#serve(p, path.value, abort.signal, refuse, work)
      .catch((err) => {
        this.#o.log.error("a browse or download request failed inside the agent", {
          request_id: id,
          error: String(err),
        });
        refuse({ code: "failed", message: `internal error in the agent: ${errorText(err)}` });
      })
      .finally(() => this.#running.delete(id));
  }

  async #serve(
    p: { snapshot_id: string; source_host?: string | undefined },
    path: string,
    signal: AbortSignal,
    refuse: (error: RequestError) => void,
    work: (run: LiveRun, path: string) => Promise<void>,
  ): Promise<void> {
    const o = this.#o;
    const repo = o.getRepo();
    if (!usableRepo(repo)) {
      return refuse({
        code: "no_repository",
        message: "no repository is configured on this host: the server has not sent repo_url and repo_password",
      });
    }
    const refusal = await policyRefusal({ hooks: false, repoUrl: repo.repo_url }, o.policy, o.repositoryPin());
    if (refusal) return refuse({ code: "policy", message: refusal });
    const redact = redactorFor(repo, o.heldTokens());
    let session: Awaited<ReturnType<typeof openResticSession>>;
    try {
      const { resticPath, spawn, clock, tempDir, cacheDir } = o;
      session = await openResticSession({ resticPath, repo, spawn, clock, tempDir, ...(cacheDir ? { cacheDir } : {}) });
    } catch (err) {
      return refuse({
        code: "failed",
        message: `could not write the password file in ${o.tempDir}: ${errorText(err)}`,
      });
    }
    try {
      await work(
        {
          session,
          spawn: o.spawn,
          clock: o.clock,
          graceMs: o.cancelGraceMs ?? 10_000,
          signal,
          redact,
          scope: this.#scope(p),
        },
        path,
      );
    } finally {
      await session.close();
    }
  }

  /** Like a restore (argv.ts buildPlan): the source host's snapshots, or this host's own. */
  #scope(p: { snapshot_id: string; source_host?: string | undefined }): SnapshotScope {
    const { resticHost, machineHost } = this.#o;
    const own = machineHost && machineHost !== resticHost ? [resticHost, machineHost] : [resticHost];
    return {
      snapshotId: p.snapshot_id,
      latestHost: p.source_host ?? resticHost,
      hosts: p.source_host ? [p.source_host] : own,
    };
  }
}
