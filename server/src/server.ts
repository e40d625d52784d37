import { existsSync } from "node:fs";
import { join } from "node:path";
import { upgradeWebSocket, websocket } from "hono/bun";
import { createApp } from "./app.ts";
import { type Clock, realClock } from "./clock.ts";
import type { ChannelConfig, ChannelKind, Notification } from "./domain/channels.ts";
import type { DomainDeps } from "./domain/deps.ts";
import { createDomain, type Domain } from "./domain/domain.ts";
import { EventBus } from "./domain/events.ts";
import { convertToIncrementalVacuum } from "./domain/retention.ts";
import { createSecretBox, loadOrCreateKey } from "./domain/secrets.ts";
import type { Settings } from "./domain/settings.ts";
import { type AgentRelease, createGateway } from "./gateway/gateway.ts";
import { AgentRegistry } from "./gateway/registry.ts";
import type { Logger } from "./log.ts";
import { Counters } from "./metrics.ts";
import { send } from "./notify/send.ts";
import { DATABASE_FILE } from "./store/db.ts";
import { openStore, type Store } from "./store/store.ts";
import type { ServedTls } from "./tls/served-tls.ts";
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
  /** Limits and switches (log and page bytes, the metrics token); the defaults of domain/settings.ts. */
  settings?: Partial<Settings>;
  /** CIDRs whose X-Forwarded-For is believed (`--trusted-proxy`). */
  trustedProxies?: readonly string[];
  /** The certificate to serve HTTPS and wss with (tls/served-tls.ts); plain HTTP without. */
  tls?: ServedTls | null;
  /** `--allow-insecure-agents`: send repository secrets over plain ws:// to peers off this machine. */
  allowInsecureAgents?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  domain: Domain;
  store: Store;
  registry: AgentRegistry;
  /** Runs the periodic checks now (tests call it after moving the clock). */
  sweep(): void;
  /**
   * Serves a new certificate from now on (SIGHUP), without dropping a connection: a second
   * listener takes the port and the old one stops accepting. Connected agents of protocol 4
   * are told the new fingerprints.
   */
  reloadTls(next: ServedTls): void;
  stop(): Promise<void>;
}

/** Opens the data directory and the database, builds the domain, gateway and app. */
export function openServerState(
  dataDir: string,
  log: Logger,
  clock: Clock = realClock,
  settings: Partial<Settings> = {},
) {
  const database = join(dataDir, DATABASE_FILE);
  const secrets = createSecretBox(loadOrCreateKey(dataDir, { mustExist: existsSync(database) }));
  const store = openStore(database);
  const registry = new AgentRegistry(clock, log);
  const notifier = { send: (kind: ChannelKind, config: ChannelConfig, n: Notification) => send(kind, config, n) };
  const deps: DomainDeps = { store, clock, agents: registry, events: new EventBus(), secrets, log, settings, notifier };
  return { store, registry, domain: createDomain(deps) };
}

export function startServer(opts: ServerOptions): RunningServer {
  const clock = opts.clock ?? realClock;
  const { store, registry, domain } = openServerState(opts.dataDir, opts.log, clock, opts.settings);
  // Nobody is connected at start: a previous run may have died with hosts marked online.
  store.markAllOffline();
  convertToIncrementalVacuum(store, opts.log, join(opts.dataDir, DATABASE_FILE));
  const counters = new Counters();
  let tls = opts.tls ?? null;
  const tlsInfo = () => (tls ? { fingerprint: tls.fingerprint, next: tls.next } : null);
  const gateway = createGateway(domain, registry, counters, opts.log, opts.agentRelease ?? null, tlsInfo);
  const app = createApp({
    domain,
    gateway,
    counters,
    log: opts.log,
    upgradeWebSocket,
    version: SERVER_VERSION,
    trustedProxies: opts.trustedProxies ?? [],
    allowInsecureAgents: opts.allowInsecureAgents ?? false,
    tls: tlsInfo,
  });
  const listen = (port: number, served: ServedTls | null, reusePort: boolean) =>
    Bun.serve({
      hostname: opts.hostname,
      port,
      fetch: app.fetch,
      ...(served ? { tls: { cert: served.cert, key: served.key } } : {}),
      // A reload opens the new listener before the old one stops (SO_REUSEPORT; Linux only).
      reusePort,
      // Bun closes HTTP connections idle for 10 s by default, which would cut the event stream
      // between its 15 s keepalives; 60 s leaves room.
      idleTimeout: 60,
      // Frames above 1 MiB get a clear `error` from the decoder; Bun drops only far larger ones.
      websocket: { ...websocket, maxPayloadLength: 4 * 1024 * 1024, idleTimeout: 120 },
    });
  const linux = process.platform === "linux";
  let server = listen(opts.port, tls, linux && tls !== null);
  /** Listeners replaced by a reload: they accept nothing new, their open sockets live on. */
  const draining: Array<typeof server> = [];

  function sweep() {
    for (const hostId of domain.presence.sweep()) registry.close(hostId, 4003, "no heartbeat for 90 s");
    domain.jobs.sweep();
    // Repository-wide prune and check: the ticks due, and those waiting for a host to come online.
    domain.maintenance.sweep();
    // Copy targets on their own schedule (3-2-1): the latest tick of each, once.
    domain.jobs.copyTicks();
    // Browses and downloads whose agent has not answered within 30 s.
    domain.snapshotFiles.sweep();
    // Repository tests whose agent has not answered within 60 s.
    domain.repositoryTest.sweep();
    // Alerts: every host's conditions, then what is due to go out (DESIGN §8.4: within 60 s).
    domain.alerts.sweep();
    void domain.alertDelivery
      .deliver()
      .catch((err) => opts.log.error("notification delivery failed", { error: String(err) }));
    store.forgetEnvelopesBefore(new Date(clock.now().getTime() - 30 * 86_400_000).toISOString());
    // Old job logs and jobs: at most hourly, in batches between which the gateway runs.
    domain.retention.sweep();
  }
  const timer = setInterval(() => {
    try {
      sweep();
    } catch (err) {
      opts.log.error("periodic sweep failed", { error: String(err) });
    }
  }, opts.sweepIntervalMs ?? 10_000);

  const port = server.port ?? opts.port;
  const url = `${tls ? "https" : "http"}://${opts.hostname.includes(":") ? `[${opts.hostname}]` : opts.hostname}:${port}`;
  let stopped = false;
  return {
    url,
    port,
    domain,
    store,
    registry,
    sweep,
    reloadTls(next: ServedTls) {
      // Bun's server.reload() keeps the old certificate (it swaps handlers only): a second
      // listener with the new one takes over the port. stop(false) closes just the old listener;
      // its WebSockets stay open (not awaited: it resolves when the last of them closes).
      const old = server;
      let fresh: typeof server | null = null;
      try {
        fresh = listen(port, next, linux);
      } catch (err) {
        if ((err as { code?: string }).code !== "EADDRINUSE") throw err;
      }
      void old.stop(false);
      draining.push(old);
      // Without SO_REUSEPORT the port frees when the old listener stops: new connections are
      // refused for that moment and retried by the agents' backoff.
      server = fresh ?? listen(port, next, false);
      tls = next;
      gateway.announceTls();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await domain.retention.stop();
      registry.closeAll(1012, "server restarting");
      await Promise.all([server, ...draining].map((s) => s.stop(true)));
      store.markAllOffline();
      store.close();
    },
  };
}
