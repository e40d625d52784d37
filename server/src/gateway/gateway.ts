import {
  type AgentMessage,
  decodeAgentMessage,
  decodeChunkFrame,
  type ErrorCode,
  isChunkFrame,
  PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "../../../protocol/index.ts";
import type { Domain } from "../domain/domain.ts";
import type { Logger } from "../log.ts";
import type { Counters } from "../metrics.ts";
import { isDiskFull } from "../storage-errors.ts";
import type { AgentRegistry, AgentSocket } from "./registry.ts";

/** A storage failure that ended the batch's transaction: the whole batch fails and is re-sent. */
class BatchAborted extends Error {
  constructor(override readonly cause: unknown) {
    super(String(cause));
  }
}

/** More than 100 invalid frames in a minute: the peer is broken or hostile; close it. */
const FLOOD_LIMIT = 100;
const FLOOD_WINDOW_MS = 60_000;

export interface Connection {
  hostId: string;
  socket: AgentSocket;
  helloDone: boolean;
  invalidAt: number[];
}

/** Speaks the wire protocol with agents: decode at the edge, then typed domain calls. */
/** What the server tells agents about newer releases (RF_AGENT_LATEST_VERSION, RF_AGENT_PACKAGE_URL). */
export interface AgentRelease {
  latest_version: string;
  package_url: string;
  changelog?: string;
}

/** Numeric compare of the leading x.y.z; anything unparsable counts as older, never newer. */
export function isOlder(version: string, than: string): boolean {
  const parse = (v: string) => (/^(\d+)\.(\d+)\.(\d+)/.exec(v) ?? []).slice(1, 4).map(Number);
  const a = parse(version);
  const b = parse(than);
  if (b.length !== 3) return false;
  if (a.length !== 3) return true;
  for (let i = 0; i < 3; i++) if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) < (b[i] as number);
  return false;
}

export function createGateway(
  domain: Domain,
  registry: AgentRegistry,
  counters: Counters,
  log: Logger,
  release: AgentRelease | null = null,
  /** The certificate the server serves (and its next one), when it serves TLS itself. */
  tls: (() => { fingerprint: string; next: string | null } | null) | null = null,
) {
  const { clock } = registry;

  function error(conn: Connection, code: ErrorCode, message: string, refId?: string) {
    counters.inc(counters.gatewayErrors, code);
    // Only a passing failure of the server (storage) can succeed when the same frame comes again.
    const retryable = code === "internal";
    registry.sendTo(conn.socket, "error", { code, message, ...(refId ? { ref_id: refId } : {}), retryable });
  }

  function invalid(conn: Connection, message: string, refId?: string): void {
    error(conn, "invalid_message", message, refId);
    const now = clock.now().getTime();
    conn.invalidAt = conn.invalidAt.filter((t) => now - t < FLOOD_WINDOW_MS);
    conn.invalidAt.push(now);
    if (conn.invalidAt.length > FLOOD_LIMIT) {
      log.warn("closing agent connection: too many invalid frames", { host_id: conn.hostId });
      registry.closeSocket(conn.socket, 1008, `more than ${FLOOD_LIMIT} invalid frames in a minute`);
    }
  }

  /** Protocol 4, over TLS: the certificate now and next, which a pinned agent pins from then on. */
  function announceTlsTo(socket: AgentSocket) {
    const certs = tls?.();
    if (!certs || (socket.protocolVersion ?? 0) < 4) return;
    registry.sendTo(socket, "tls.fingerprints", {
      current: certs.fingerprint,
      ...(certs.next ? { next: certs.next } : {}),
    });
  }

  function hello(conn: Connection, msg: Extract<AgentMessage, { type: "hello" }>) {
    const version = msg.payload.protocol_version;
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      error(
        conn,
        "version_not_supported",
        `protocol version ${version} is not supported (this server speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")}): ` +
          "install a matching restic-fleet-agent",
        msg.id,
      );
      registry.closeSocket(conn.socket, 4002, "protocol version not supported");
      return;
    }
    domain.presence.hello(conn.hostId, msg.payload);
    // Protocol 3: the jobs the agent holds. One it does not hold cannot finish any more.
    if (msg.payload.active_job_ids) domain.jobs.reconcile(conn.hostId, new Set(msg.payload.active_job_ids));
    conn.helloDone = true;
    // Order matters: config and schedules first, then the socket takes jobs (queued ones now).
    // Nothing goes to a host whose policies are in conflict (DESIGN §8.3), until it is resolved.
    const config = domain.hosts.configPayload(conn.hostId, conn.socket.secure !== false);
    if (config) registry.sendTo(conn.socket, "config.update", config);
    conn.socket.protocolVersion = version;
    announceTlsTo(conn.socket);
    registry.markReady(conn.socket);
    domain.schedules.pushSet(conn.hostId);
    domain.jobs.onHello(conn.hostId);
    // Informational only: the agent never updates itself.
    if (release && isOlder(msg.payload.agent_version, release.latest_version)) {
      registry.sendTo(conn.socket, "agent.update_available", release);
    }
    log.info("agent said hello", {
      host_id: conn.hostId,
      hostname: msg.payload.hostname,
      agent_version: msg.payload.agent_version,
      restic_version: msg.payload.restic_version,
    });
  }

  function handle(conn: Connection, msg: AgentMessage): void {
    if (msg.type === "hello") {
      hello(conn, msg);
      return;
    }
    if (!conn.helloDone) {
      error(conn, "conflict", "send hello first", msg.id);
      return;
    }
    switch (msg.type) {
      case "heartbeat":
        domain.presence.seen(conn.hostId);
        // Acked so the agent can tell a live server from a dead socket.
        registry.sendTo(conn.socket, "ack", { ids: [msg.id] });
        return;
      case "schedule.ack":
        domain.presence.ack(conn.hostId, msg.payload.version);
        return;
      case "schedule.fire": {
        const result = domain.jobs.fire(conn.hostId, msg.payload);
        // The job (or the refusal) is final: the agent may stop re-sending this fire.
        registry.sendTo(conn.socket, "ack", { ids: [msg.id] });
        if (!result.ok) error(conn, result.code, result.message, msg.id);
        return;
      }
      case "command.result":
      case "job.started":
      case "job.progress":
      case "job.finished":
      case "job.log":
      case "snapshots.report":
      case "repo.stats":
      case "repo.missing": {
        const result = domain.reports.record(conn.hostId, msg);
        registry.sendTo(conn.socket, "ack", { ids: [msg.id] });
        if (!result.ok) error(conn, result.code, result.message, msg.id);
        return;
      }
      case "files.listed":
      case "download.begin":
      case "download.end":
      case "snapshots.diffed":
      case "repo.tested":
        // Live answers to a browse, a download, a diff or a repository test: handed on in order, never stored or acked.
        registry.requests.deliver(conn.hostId, msg);
        return;
      default: {
        const unreachable: never = msg;
        throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** A download's bytes (a binary frame): handed on in order with the other answers, nothing stored. */
  function receiveChunk(conn: Connection, data: ArrayBuffer | Uint8Array): void {
    const decoded = decodeChunkFrame(data);
    if (!decoded.ok) {
      counters.inc(counters.messagesIn, "invalid");
      invalid(conn, decoded.error.message);
      return;
    }
    counters.inc(counters.messagesIn, "download.chunk");
    if (!conn.helloDone) {
      error(conn, "conflict", "send hello first");
      return;
    }
    registry.requests.deliver(conn.hostId, decoded.message);
  }

  function receive(conn: Connection, data: string | ArrayBuffer | Uint8Array): void {
    if (isChunkFrame(data)) {
      receiveChunk(conn, data);
      return;
    }
    const decoded = decodeAgentMessage(typeof data === "string" ? data : new Uint8Array(data));
    if (!decoded.ok) {
      counters.inc(counters.messagesIn, "invalid");
      invalid(conn, decoded.error.message, decoded.error.ref_id);
      return;
    }
    counters.inc(counters.messagesIn, decoded.message.type);
    try {
      // A savepoint per frame: a failure undoes this frame only, not the rest of its batch.
      domain.atomically(() => handle(conn, decoded.message));
    } catch (err) {
      // A storage failure (SQLITE_FULL, I/O) can make SQLite roll back the whole batch under the
      // savepoint: the frames after it would then run outside any transaction. Fail the batch.
      if (!domain.inTransaction()) throw new BatchAborted(err);
      // A bug in one frame: report it, keep the connection and the process.
      log.error("agent message failed", { host_id: conn.hostId, type: decoded.message.type, error: String(err) });
      error(conn, "internal", "the server could not process this message; it will be retried", decoded.message.id);
    }
  }

  /**
   * Group commit: the frames that arrived in one turn of the event loop are stored in one
   * transaction, so a busy server pays one fsync per batch instead of one per frame (or three
   * per schedule.fire). What the server answers (acks, command.run, errors) leaves after the
   * commit, so an ack still means "durably stored".
   */
  let pending: Array<{ conn: Connection; data: string | ArrayBuffer | Uint8Array }> = [];
  function flush(): void {
    // Frames of sockets closed or replaced meanwhile are dropped unacked: their agent re-sends them.
    const batch = pending.filter(({ conn }) => registry.isCurrent(conn.hostId, conn.socket));
    pending = [];
    if (batch.length === 0) return;
    registry.hold();
    try {
      domain.atomically(() => {
        for (const { conn, data } of batch) receive(conn, data);
      });
    } catch (thrown) {
      const err = thrown instanceof BatchAborted ? thrown.cause : thrown;
      // The commit failed (disk full, I/O error): nothing of the batch is stored, so nothing of it
      // may be acked. Closing the sockets also drops what the batch did in memory (a hello's
      // readiness); the agents reconnect with backoff and re-send everything unacked.
      registry.discard();
      log.error(
        isDiskFull(err)
          ? "storing a batch of agent messages failed: the data directory's disk is full; free space there"
          : "storing a batch of agent messages failed",
        { frames: batch.length, error: String(err) },
      );
      for (const conn of new Set(batch.map((b) => b.conn))) {
        counters.inc(counters.gatewayErrors, "internal");
        registry.closeSocket(conn.socket, 1011, "the server could not store your messages; reconnect and re-send");
      }
      return;
    }
    counters.gatewayCommits++;
    counters.gatewayCommittedFrames += batch.length;
    registry.release();
  }

  return {
    open(hostId: string, socket: AgentSocket): Connection {
      registry.attach(hostId, socket);
      return { hostId, socket, helloDone: false, invalidAt: [] };
    },

    message(conn: Connection, data: string | ArrayBuffer | Uint8Array): void {
      pending.push({ conn, data });
      if (pending.length === 1) setImmediate(flush);
    },

    close(conn: Connection): void {
      if (!registry.detach(conn.hostId, conn.socket)) return;
      try {
        domain.presence.disconnected(conn.hostId);
      } catch (err) {
        // A full disk must not throw out of the socket's close handler; the 90 s sweep and the
        // next start (every host offline) put presence right once the disk has room.
        log.error("could not record that an agent disconnected", { host_id: conn.hostId, error: String(err) });
      }
    },

    protocolVersion: PROTOCOL_VERSION,

    /** Tells every connected agent the certificates now served (after a reload). */
    announceTls(): void {
      for (const socket of registry.readySockets()) announceTlsTo(socket);
    },
  };
}

export type Gateway = ReturnType<typeof createGateway>;
