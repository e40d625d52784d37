import { existsSync } from "node:fs";
import { join } from "node:path";
import { upgradeWebSocket, websocket } from "hono/bun";
import { createApp } from "./app.ts";
import { type Clock, realClock } from "./clock.ts";
import type { DomainDeps } from "./domain/deps.ts";
import { createDomain, type Domain } from "./domain/domain.ts";
import { EventBus } from "./domain/events.ts";
import { createSecretBox, loadOrCreateKey } from "./domain/secrets.ts";
import { type AgentRelease, createGateway } from "./gateway/gateway.ts";
import { AgentRegistry } from "./gateway/registry.ts";
import type { Logger } from "./log.ts";
import { Counters } from "./metrics.ts";
import { DATABASE_FILE } from "./store/db.ts";
import { openStore, type Store } from "./store/store.ts";
import { SERVER_VERSION } from "./version.ts";

export interface ServerOptions {
  dataDir: string;
  hostname: string;
  port: number;
  log: Logger;
  clock?: Clock;
  /** How often presence and dispatch timeouts are swept; 10 s in production. */
  sweepIntervalMs?: number;
  /** The newest agent release, announced to older agents on hello. */
  agentRelease?: AgentRelease | null;
}

export interface RunningServer {
  url: string;
  port: number;
  domain: Domain;
  store: Store;
  registry: AgentRegistry;
  /** Runs the periodic checks now (tests call it after moving the clock). */
  sweep(): void;
  stop(): Promise<void>;
}

/** Opens the data directory and the database, builds the domain, gateway and app. */
export function openServerState(dataDir: string, log: Logger, clock: Clock = realClock) {
  const database = join(dataDir, DATABASE_FILE);
  const secrets = createSecretBox(loadOrCreateKey(dataDir, { mustExist: existsSync(database) }));
  const store = openStore(database);
  const registry = new AgentRegistry(clock, log);
  const deps: DomainDeps = { store, clock, agents: registry, events: new EventBus(), secrets, log };
  return { store, registry, domain: createDomain(deps) };
}

export function startServer(opts: ServerOptions): RunningServer {
  const clock = opts.clock ?? realClock;
  const { store, registry, domain } = openServerState(opts.dataDir, opts.log, clock);
  // Nobody is connected at start: a previous run may have died with hosts marked online.
  store.markAllOffline();
  const counters = new Counters();
  const gateway = createGateway(domain, registry, counters, opts.log, opts.agentRelease ?? null);
  let server: ReturnType<typeof Bun.serve> | null = null;
  const app = createApp({
    domain,
    gateway,
    counters,
    log: opts.log,
    upgradeWebSocket,
    version: SERVER_VERSION,
    clientAddress: (req) => server?.requestIP(req)?.address ?? "unknown",
  });
  server = Bun.serve({
    hostname: opts.hostname,
    port: opts.port,
    fetch: app.fetch,
    // Bun closes HTTP connections idle for 10 s by default, which would cut the event stream
    // between its 15 s keepalives; 60 s leaves room.
    idleTimeout: 60,
    // Frames above 1 MiB get a clear `error` from the decoder; Bun drops only far larger ones.
    websocket: { ...websocket, maxPayloadLength: 4 * 1024 * 1024, idleTimeout: 120 },
  });

  function sweep() {
    for (const hostId of domain.presence.sweep()) registry.close(hostId, 4003, "no heartbeat for 90 s");
    domain.jobs.sweep();
    store.forgetEnvelopesBefore(new Date(clock.now().getTime() - 30 * 86_400_000).toISOString());
  }
  const timer = setInterval(() => {
    try {
      sweep();
    } catch (err) {
      opts.log.error("periodic sweep failed", { error: String(err) });
    }
  }, opts.sweepIntervalMs ?? 10_000);

  const port = server.port ?? opts.port;
  const url = `http://${opts.hostname.includes(":") ? `[${opts.hostname}]` : opts.hostname}:${port}`;
  let stopped = false;
  return {
    url,
    port,
    domain,
    store,
    registry,
    sweep,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      registry.closeAll(1012, "server restarting");
      await server?.stop(true);
      store.markAllOffline();
      store.close();
    },
  };
}
