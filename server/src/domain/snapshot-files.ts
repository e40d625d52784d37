import type { DiffChange, DiffStats, FileEntry, RequestError } from "../../../protocol/index.ts";
import { MAX_DIFF_CHANGES, MAX_FILES_PER_PAGE, SNAPSHOT_ID } from "../../../protocol/index.ts";
import type { AgentRequests } from "./agent-link.ts";
import { audit } from "./audit.ts";
import { createDeadlines } from "./deadlines.ts";
import type { Actor, DomainContext } from "./deps.ts";
import { DomainError, notFound } from "./errors.ts";
import { CONTROL } from "./names.ts";
import { requireAdmin } from "./permissions.ts";
import { expandForHost } from "./repository-url.ts";
import { DOWNLOAD_WINDOW, type DownloadHead, receiveDownload } from "./snapshot-download.ts";
import { newId } from "./tokens.ts";
import type { Host } from "./types.ts";

/** An agent that has not answered a browse or begun a download in 30 s is taken as stuck (504). */
export const ANSWER_TIMEOUT_MS = 30_000;
/** Browse and download came with protocol 7, compare with 8. */
const MIN_PROTOCOL = 7;
const DIFF_PROTOCOL = 8;

/** Two snapshots of a host compared (GET /hosts/:id/snapshots/diff). */
export interface SnapshotDiff {
  from: string;
  to: string;
  /** The first changes, by path; `total` counts them all, so `changes.length < total` means more. */
  changes: DiffChange[];
  total: number;
  stats: DiffStats | null;
}
export const DEFAULT_PAGE = 500;

export interface FilesQuery {
  hostId: string;
  snapshotId: string;
  path: string;
  /** Another online host of the same repository to ask, e.g. when host :id is gone for good. */
  viaHostId?: string | undefined;
}

export interface BrowseQuery extends FilesQuery {
  offset: number;
  limit: number;
}

export interface Listing {
  items: Array<Omit<FileEntry, "mtime"> & { mtime: string | null }>;
  next_cursor: string | null;
  total: number;
  snapshot_id: string;
}

/**
 * The repository a host uses, as host-push.ts configPayload picks it: its own settings' URL, else
 * its policies' repository for it (`{host}` filled in); null when it has none. Reads only.
 */
function repoUrlOf(store: DomainContext["store"], hostId: string): string | null {
  const own = store.configFor(hostId)?.repo_url;
  if (own) return own;
  const host = store.hostById(hostId);
  const repo = host?.policy_repository_id ? store.repositoryById(host.policy_repository_id) : null;
  if (!host || !repo) return null;
  try {
    return expandForHost(repo.url, host);
  } catch {
    return null;
  }
}

/**
 * A path in a snapshot as the API takes it: absolute, no `.` or `..` segment, no control
 * character; repeated and trailing slashes dropped (`/srv//www/` is `/srv/www`). 400 naming `path`.
 */
export function checkSnapshotPath(path: string): string {
  const bad = (why: string) => new DomainError("invalid", `path: ${why}`, "path");
  if (path === "") throw bad("give the absolute path of a directory or file in the snapshot, e.g. path=/srv");
  if (path.length > 4096) throw bad("must be at most 4096 characters");
  if (CONTROL.test(path)) throw bad("must not hold control characters");
  if (!path.startsWith("/")) throw bad(`must be absolute (start with /), as restic stores it: /${path}?`);
  const segments = path.split("/").filter((s) => s !== "");
  if (segments.some((s) => s === ".." || s === ".")) throw bad("must not hold a '.' or '..' segment");
  return `/${segments.join("/")}`;
}

/** An agent's refusal (files.listed or download.begin/end `error`) as the API answers it. */
export function answerError(host: Pick<Host, "id">, e: RequestError): DomainError {
  const msg = `host ${host.id} answered ${e.code}: ${e.message}`;
  switch (e.code) {
    case "snapshot_missing":
    case "path_missing":
      return new DomainError("not_found", msg);
    case "not_a_directory":
      return new DomainError("invalid", `${msg}; list a directory, or download the file`, "path");
    case "other_host":
      return new DomainError(
        "conflict",
        `${msg}; name the host whose snapshot it is as :id, and via_host_id to ask this one`,
      );
    case "policy":
      return new DomainError("forbidden", `${msg}; the host's local policy file decides this`);
    case "busy":
      return Object.assign(new DomainError("agent_busy", `${msg}; try again shortly`), { retryAfter: 5 });
    case "no_repository":
      return new DomainError("conflict", `${msg}; give the host a repository first`);
    case "cancelled":
    case "failed":
      return new DomainError("agent_failed", msg);
  }
}

export function createSnapshotFiles(deps: DomainContext) {
  const { store, clock, agents } = deps;
  /** Waits on agents' answers, each with its expiry; the periodic sweep fires those past it. */
  const deadlines = createDeadlines(clock);
  const deadline = (onExpire: () => void) => deadlines.deadline(ANSWER_TIMEOUT_MS, onExpire);

  function liveRequests(): AgentRequests {
    if (!agents.requests) throw new Error("this server's agent link carries no live requests");
    return agents.requests;
  }

  function online(host: Host, what: string, since = MIN_PROTOCOL): void {
    if (!agents.isConnected(host.id)) {
      throw new DomainError(
        "conflict",
        `host ${host.id} is offline: ${what} asks its agent; start the agent, or name an online host of the ` +
          "same repository with via_host_id",
      );
    }
    if ((host.protocol_version ?? 0) < since) {
      throw new DomainError(
        "conflict",
        `the agent on host ${host.id} speaks protocol ${host.protocol_version ?? "unknown"}, too old for ${what} ` +
          `(protocol ${since}): upgrade the agent`,
      );
    }
  }

  /**
   * Which host to ask, and what to ask it: host :id itself, or the via host, which serves :id's
   * snapshot by its restic host name from a repository both use (as a cross-host restore does).
   */
  function route(q: FilesQuery, what: string) {
    const host = store.hostById(q.hostId);
    if (!host) throw notFound(`host ${q.hostId}`);
    if (!SNAPSHOT_ID.test(q.snapshotId)) {
      throw new DomainError("invalid", "snapshot_id: must be a snapshot id (8-64 hex) or latest", "snapshot_id");
    }
    const path = checkSnapshotPath(q.path);
    const base = { snapshot_id: q.snapshotId, path };
    if (q.viaHostId === undefined || q.viaHostId === q.hostId) {
      online(host, what);
      return { host, asked: host, payload: base };
    }
    const via = store.hostById(q.viaHostId);
    if (!via) throw new DomainError("not_found", `via host ${q.viaHostId} not found`, "via_host_id");
    const mine = repoUrlOf(store, host.id);
    if (mine === null) {
      throw new DomainError(
        "conflict",
        `host ${host.id} has no repository settings, so no other host can be known to share its repository`,
        "via_host_id",
      );
    }
    if (repoUrlOf(store, via.id) !== mine) {
      throw new DomainError(
        "conflict",
        `via host ${via.id} backs up to another repository than host ${host.id}: name a host of the same repository`,
        "via_host_id",
      );
    }
    online(via, what);
    return { host, asked: via, payload: { ...base, source_host: host.restic_host } };
  }

  return {
    /** One page of a directory of a snapshot, asked live of the host's agent (or the via host's). */
    browse(q: BrowseQuery): Promise<Listing> {
      const { asked, payload } = route(q, "browsing");
      const limit = Math.min(Math.max(q.limit, 1), MAX_FILES_PER_PAGE);
      const requestId = newId("req");
      return new Promise<Listing>((resolve, reject) => {
        const end = (fn: () => void) => {
          forget();
          timer.disarm();
          fn();
        };
        const timer = deadline(() =>
          end(() => reject(new DomainError("agent_timeout", `host ${asked.id} did not answer the browse within 30 s`))),
        );
        const forget = liveRequests().expect(asked.id, requestId, {
          answer: (msg) => {
            if (msg.type !== "files.listed") return;
            const p = msg.payload;
            if (p.error) return end(() => reject(answerError(asked, p.error as RequestError)));
            const items = (p.items ?? []).map((e) => ({ ...e, mtime: e.mtime ?? null }));
            const total = p.total ?? q.offset + items.length;
            const next = q.offset + items.length;
            end(() =>
              resolve({
                items,
                next_cursor: items.length > 0 && next < total ? String(next) : null,
                total,
                snapshot_id: p.snapshot_id ?? q.snapshotId,
              }),
            );
          },
          gone: (reason) =>
            end(() =>
              reject(new DomainError("agent_failed", `host ${asked.id} went away during the browse: ${reason}`)),
            ),
        });
        timer.arm();
        if (!agents.send(asked.id, "files.list", { request_id: requestId, ...payload, offset: q.offset, limit })) {
          end(() => reject(new DomainError("conflict", `host ${asked.id} went offline; try again once it is back`)));
        }
      });
    },

    /**
     * Two snapshots of the host compared by its agent (`restic diff --json`), read-only. The pair
     * was checked against the host's mirror (snapshot-actions.ts pair); the agent checks again.
     */
    diff(hostId: string, pair: { from: string; to: string }): Promise<SnapshotDiff> {
      const host = store.hostById(hostId);
      if (!host) throw notFound(`host ${hostId}`);
      online(host, "comparing snapshots", DIFF_PROTOCOL);
      const requestId = newId("req");
      return new Promise<SnapshotDiff>((resolve, reject) => {
        const end = (fn: () => void) => {
          forget();
          timer.disarm();
          fn();
        };
        const timer = deadline(() =>
          end(() => reject(new DomainError("agent_timeout", `host ${host.id} did not answer the compare within 30 s`))),
        );
        const forget = liveRequests().expect(host.id, requestId, {
          answer: (msg) => {
            if (msg.type !== "snapshots.diffed") return;
            const p = msg.payload;
            if (p.error) return end(() => reject(answerError(host, p.error as RequestError)));
            const changes = p.changes ?? [];
            end(() =>
              resolve({
                from: p.from ?? pair.from,
                to: p.to ?? pair.to,
                changes,
                total: p.total ?? changes.length,
                stats: p.stats ?? null,
              }),
            );
          },
          gone: (reason) =>
            end(() =>
              reject(new DomainError("agent_failed", `host ${host.id} went away during the compare: ${reason}`)),
            ),
        });
        timer.arm();
        const payload = { request_id: requestId, ...pair, limit: MAX_DIFF_CHANGES };
        if (!agents.send(host.id, "snapshots.diff", payload)) {
          end(() => reject(new DomainError("conflict", `host ${host.id} went offline; try again once it is back`)));
        }
      });
    },

    /**
     * A file of a snapshot (a directory as a tar), streamed from the agent's `restic dump` with
     * flow control (snapshot-download.ts). Needs the role a restore needs, and is audited.
     */
    download(actor: Actor, q: FilesQuery, signal?: AbortSignal): Promise<DownloadHead> {
      requireAdmin(actor, "downloading files of a snapshot");
      const { host, asked, payload } = route(q, "downloading");
      const requestId = newId("req");
      audit(deps, actor, "snapshot.download", host.id, {
        snapshot_id: payload.snapshot_id,
        path: payload.path,
        ...(asked.id !== host.id ? { via_host_id: asked.id } : {}),
      });
      return receiveDownload({
        requests: liveRequests(),
        hostId: asked.id,
        hostName: asked.id,
        requestId,
        start: () =>
          agents.send(asked.id, "download.start", { request_id: requestId, ...payload, window: DOWNLOAD_WINDOW }),
        credit: (chunks) => agents.send(asked.id, "download.credit", { request_id: requestId, chunks }),
        cancel: () => agents.send(asked.id, "download.cancel", { request_id: requestId }),
        deadline,
        refusal: (e) => answerError(asked, e),
        failed: (error) =>
          deps.log.warn("a download failed part way", { host_id: asked.id, request_id: requestId, error }),
        signal,
      });
    },

    /** Fails the waits past their 30 s (called by the periodic sweep, every 10 s in production). */
    sweep: deadlines.sweep,

    /** How many answers are awaited (tests). */
    waiting: () => deadlines.size,
  };
}

export type SnapshotFiles = ReturnType<typeof createSnapshotFiles>;
