import { encode, type PayloadOf, type ServerMessageType } from "../../../protocol/index.ts";
import type { Clock } from "../clock.ts";
import type { AgentLink } from "../domain/agent-link.ts";
import type { Logger } from "../log.ts";
import { PendingAgentRequests } from "./agent-requests.ts";

/** The transport seam: the gateway gets this, never Bun's socket itself. */
export interface AgentSocket {
  send(text: string): void;
  close(code: number, reason: string): void;
  /**
   * Whether this link may carry secrets: TLS (to this server or to a trusted proxy), a loopback
   * peer, or `--allow-insecure-agents`. Absent: true (tests' in-process sockets).
   */
  secure?: boolean;
  /** The protocol version its hello named (set by the gateway). */
  protocolVersion?: number;
}

/** The live agent connections, one per host; implements the domain's AgentLink. */
export class AgentRegistry implements AgentLink {
  #sockets = new Map<string, AgentSocket>();
  /** Sockets past their hello: only those get jobs, config and schedules from the domain. */
  #ready = new WeakSet<AgentSocket>();
  /** While the gateway stores a batch, what it sends waits here until the commit (acks mean "stored"). */
  #held: Array<() => void> | null = null;
  /** Browses and downloads waiting on agents' answers; a host's socket going away fails its own. */
  readonly requests: PendingAgentRequests;

  constructor(
    /** The server's clock, shared with the gateway (flood windows). */
    readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.requests = new PendingAgentRequests(log);
  }

  /** Registers a socket; a second connection for the same host replaces (closes) the first. */
  attach(hostId: string, socket: AgentSocket): void {
    const old = this.#sockets.get(hostId);
    this.#sockets.set(hostId, socket);
    if (old && old !== socket) {
      this.log.info("agent connection replaced", { host_id: hostId });
      this.requests.hostGone(hostId, "its agent reconnected, which ended the old connection");
      closeQuietly(old, 4000, "replaced by a newer connection from the same host");
    }
  }

  /** Forgets the socket if it is still the current one; true when it was. */
  detach(hostId: string, socket: AgentSocket): boolean {
    if (this.#sockets.get(hostId) !== socket) return false;
    this.#sockets.delete(hostId);
    this.requests.hostGone(hostId, "its agent disconnected");
    return true;
  }

  isCurrent(hostId: string, socket: AgentSocket): boolean {
    return this.#sockets.get(hostId) === socket;
  }

  /** Called after a good hello; before it, a command.run could overtake the config.update. */
  markReady(socket: AgentSocket): void {
    this.#ready.add(socket);
  }

  isSecure(hostId: string): boolean {
    return this.#sockets.get(hostId)?.secure !== false;
  }

  isConnected(hostId: string): boolean {
    const socket = this.#sockets.get(hostId);
    return socket !== undefined && this.#ready.has(socket);
  }

  send<T extends ServerMessageType>(hostId: string, type: T, payload: PayloadOf<T>): boolean {
    const socket = this.#sockets.get(hostId);
    if (!socket || !this.#ready.has(socket)) return false;
    return this.sendTo(socket, type, payload);
  }

  sendTo<T extends ServerMessageType>(socket: AgentSocket, type: T, payload: PayloadOf<T>): boolean {
    if (this.#held) {
      this.#held.push(() => this.#write(socket, type, payload));
      return true;
    }
    return this.#write(socket, type, payload);
  }

  #write<T extends ServerMessageType>(socket: AgentSocket, type: T, payload: PayloadOf<T>): boolean {
    try {
      socket.send(encode(type, payload, { now: () => this.clock.now() }));
      return true;
    } catch (err) {
      this.log.warn("send to agent failed", { type, error: String(err) });
      return false;
    }
  }

  /** Closes a socket, after the frames held before it. */
  closeSocket(socket: AgentSocket, code: number, reason: string): void {
    if (this.#held) this.#held.push(() => closeQuietly(socket, code, reason));
    else closeQuietly(socket, code, reason);
  }

  /** Holds outgoing frames until release() (sent in order) or discard() (the batch was not stored). */
  hold(): void {
    this.#held ??= [];
  }

  release(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const send of held) send();
  }

  discard(): void {
    this.#held = null;
  }

  close(hostId: string, code: number, reason: string): void {
    const socket = this.#sockets.get(hostId);
    if (!socket) return;
    this.#sockets.delete(hostId);
    this.requests.hostGone(hostId, `its connection was closed (${reason})`);
    closeQuietly(socket, code, reason);
  }

  /** The sockets past their hello. */
  readySockets(): AgentSocket[] {
    return [...this.#sockets.values()].filter((s) => this.#ready.has(s));
  }

  closeAll(code: number, reason: string): void {
    for (const hostId of [...this.#sockets.keys()]) this.close(hostId, code, reason);
  }

  get size(): number {
    return this.#sockets.size;
  }
}

function closeQuietly(socket: AgentSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    // Already closed or closing.
  }
}
