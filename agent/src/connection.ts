import { decodeServerMessage, type ServerMessage } from "../../protocol/index.ts";
import type { ConnectOutcome } from "./backoff.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import type { Logger } from "./log.ts";
import { type ClientTls, PinMismatch, type ServerTrust, tlsFor } from "./tls/server-trust.ts";

/** 30 s heartbeats; the server marks a host offline after 90 s (3 missed). */
export const HEARTBEAT_MS = 30_000;
/**
 * The server acks every heartbeat, so 90 s without any frame from it means the link is dead even
 * if the socket looks open (a crashed server, a silent partition): close it and reconnect.
 */
export const SILENCE_LIMIT_MS = 90_000;

export interface Link {
  /** Sends a text frame (or a binary one: download chunks); false when the socket is not open. */
  send(frame: string | Uint8Array<ArrayBuffer>): boolean;
  close(): void;
}

export interface ConnectOptions {
  serverUrl: string;
  token: string;
  clock: Clock;
  log: Logger;
  /** Called once the socket is open; heartbeats start then. */
  onOpen(link: Link): void;
  onMessage(msg: ServerMessage, link: Link): void;
  onClose(): void;
  /** Builds the heartbeat frame (the caller owns encoding and the clock). */
  heartbeat(): string;
  /** Resolved by the caller to end this connection (agent stopping). */
  signal?: AbortSignal;
  /** TLS options for an https server (tls/server-trust.ts); none for http. */
  tls?: ClientTls | undefined;
}

export function wsUrl(serverUrl: string): string {
  const u = new URL("/api/v1/agent/ws", serverUrl);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.toString();
}

/**
 * Asks the server why a socket could not open: with a valid token a plain GET on the
 * WebSocket route answers 404 (no upgrade), with a bad or revoked one 401.
 */
async function refusedToken(serverUrl: string, token: string, tls: ClientTls | undefined): Promise<boolean> {
  try {
    const res = await fetch(new URL("/api/v1/agent/ws", serverUrl), {
      headers: { Authorization: `Bearer ${token}` },
      ...(tls ? { tls } : {}),
    } as RequestInit);
    return res.status === 401;
  } catch {
    return false;
  }
}

/**
 * Why a socket failed, from Bun's error event ("WebSocket connection to 'ws://…' failed: Failed to
 * connect", with the code ECONNREFUSED, ENOTFOUND, …; "TLS handshake failed: …"; "Expected 101
 * status code: 502"), without the URL the log line names anyway.
 */
export function socketFailure(event: Event): string {
  const e = event as Event & { message?: string; error?: { code?: string } };
  let text = (e.message ?? "").replace(/^WebSocket connection to '[^']*' failed: /, "") || "connection failed";
  const status = /^Expected 101 status code: (\d+)/.exec(text);
  if (status) text = `the server answered HTTP ${status[1]} instead of opening the WebSocket`;
  const code = e.error?.code;
  return code && !text.includes(code) ? `${text} (${code})` : text;
}

/** One WebSocket session: resolves when it ends, saying whether the server refused our token. */
export function connectOnce(o: ConnectOptions): Promise<ConnectOutcome> {
  return new Promise((resolve) => {
    let opened = false;
    let unauthorized = false;
    let failure: string | undefined;
    let heartbeatTimer: TimerHandle | null = null;
    const ws = new WebSocket(wsUrl(o.serverUrl), {
      headers: { Authorization: `Bearer ${o.token}` },
      ...(o.tls ? { tls: o.tls } : {}),
    } as never);
    const link: Link = {
      send(frame) {
        if (ws.readyState !== WebSocket.OPEN) return false;
        ws.send(frame);
        return true;
      },
      close: () => ws.close(1000, "agent stopping"),
    };
    let lastHeard = o.clock.now().getTime();
    const beat = () => {
      heartbeatTimer = o.clock.setTimeout(() => {
        if (o.clock.now().getTime() - lastHeard > SILENCE_LIMIT_MS) {
          o.log.warn("no word from the server for 90 s: reconnecting");
          ws.close(4008, "server silent");
          return;
        }
        link.send(o.heartbeat());
        beat();
      }, HEARTBEAT_MS);
    };
    const onAbort = () => ws.close(1000, "agent stopping");
    o.signal?.addEventListener("abort", onAbort, { once: true });

    ws.addEventListener("open", () => {
      opened = true;
      o.log.info("connected to server", { server: o.serverUrl });
      beat();
      o.onOpen(link);
    });
    ws.addEventListener("message", (event) => {
      lastHeard = o.clock.now().getTime();
      const decoded = decodeServerMessage(
        typeof event.data === "string" ? event.data : new Uint8Array(event.data as ArrayBuffer),
      );
      if (!decoded.ok) {
        o.log.warn("ignored an invalid frame from the server", { error: decoded.error.message });
        return;
      }
      if (decoded.message.type === "error" && decoded.message.payload.code === "unauthorized") unauthorized = true;
      try {
        o.onMessage(decoded.message, link);
      } catch (err) {
        o.log.error("handling a server message failed", { type: decoded.message.type, error: String(err) });
      }
    });
    ws.addEventListener("close", async (event) => {
      if (heartbeatTimer) o.clock.clearTimeout(heartbeatTimer);
      o.signal?.removeEventListener("abort", onAbort);
      if (opened) {
        o.log.info("disconnected from server", { code: event.code, reason: event.reason });
        o.onClose();
      }
      if (!opened && !unauthorized && !o.signal?.aborted)
        unauthorized = await refusedToken(o.serverUrl, o.token, o.tls);
      const code = `code ${event.code}${event.reason ? `: ${event.reason}` : ""}`;
      const detail = opened ? `closed (${code})` : (failure ?? `could not connect (${code})`);
      resolve({ reason: unauthorized ? "unauthorized" : "closed", detail });
    });
    ws.addEventListener("error", (event) => {
      // A close event always follows; the outcome is decided there.
      failure ??= socketFailure(event);
    });
  });
}

/**
 * One session to a server trusted as `trust` says: with a pinned certificate, the certificate the
 * server presents is checked before anything is sent, and a mismatch ends the attempt (the caller
 * retries with backoff) with a log line that names both fingerprints and what to do.
 */
export async function connectTrusted(o: ConnectOptions, trust: ServerTrust): Promise<ConnectOutcome> {
  let tls: ClientTls | undefined;
  try {
    tls = await tlsFor(new URL(o.serverUrl), trust);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    if (err instanceof PinMismatch) {
      o.log.error(err.message, { presented: err.presented, pinned: err.pins });
      return { reason: "closed", detail: "the server's certificate does not match the pinned fingerprint" };
    }
    o.log.warn("cannot reach the server", { server: o.serverUrl, error: detail });
    return { reason: "closed", detail };
  }
  return connectOnce({ ...o, tls });
}
