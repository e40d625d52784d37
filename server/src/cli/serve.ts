import { parseTrustedProxies } from "../http/client-address.ts";
import { createLogger, type Level, type Logger } from "../log.ts";
import { openServerState, startServer } from "../server.ts";
import type { TlsSetting } from "../tls/served-tls.ts";
import { SERVER_VERSION } from "../version.ts";
import { generatePassword } from "./admin.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { settingsFromEnv } from "./settings-env.ts";
import { loadTlsOrExplain, missingNames, type TlsFlags, tlsSettingFrom } from "./tls-options.ts";
import { UsageError } from "./usage-error.ts";

export function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port > 65535)
    throw new UsageError(`--listen must be HOST:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080; got "${listen}"`);
  return { hostname: (m[1] || "0.0.0.0").replace(/^\[|\]$/g, ""), port };
}

/** First start: an empty data directory gets an 'admin' user before the port opens. */
async function ensureAdmin(dataDir: string, log: Logger) {
  const { store, domain } = openServerState(dataDir, log);
  try {
    if (store.countUsers() > 0) return;
    const fromEnv = process.env.RF_ADMIN_PASSWORD;
    const password = fromEnv || generatePassword();
    await domain.auth.createUser("admin", password, "admin", null);
    if (fromEnv) log.info("created user admin with the password from RF_ADMIN_PASSWORD");
    else {
      console.log(`First start: created user 'admin' with password: ${password}`);
      console.log("It is shown only this once. Change it with: restic-fleet-server user passwd admin");
    }
  } finally {
    store.close();
  }
}

export async function serveCommand(opts: {
  listen: string;
  dataDir: string;
  logLevel: string;
  trustedProxies: string[];
  tls: TlsFlags;
  allowInsecureAgents: boolean;
}) {
  if (!["debug", "info", "warn", "error"].includes(opts.logLevel)) {
    throw new UsageError("--log-level must be debug, info, warn or error");
  }
  const trustedProxies = opts.trustedProxies.map((cidr) => cidr.trim());
  try {
    parseTrustedProxies(trustedProxies);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const log = createLogger(opts.logLevel as Level);
  const { hostname, port } = parseListen(opts.listen);
  const latest = process.env.RF_AGENT_LATEST_VERSION;
  const url = process.env.RF_AGENT_PACKAGE_URL;
  if (!latest !== !url) throw new UsageError("set both RF_AGENT_LATEST_VERSION and RF_AGENT_PACKAGE_URL, or neither");
  const agentRelease = latest && url ? { latest_version: latest, package_url: url } : null;
  const settings = settingsFromEnv(process.env);
  const tlsSetting = tlsSettingFrom(opts.tls, process.env, opts.dataDir, hostname);
  // Before anything opens the database: a second server on this data directory stops here.
  const lock = lockDataDir(opts.dataDir);
  try {
    // Handle the signals before "listening" is logged: a supervisor or test that sends SIGTERM as soon
    // as it reads that line must find the handler in place (registered after the line, 18 of 30
    // such SIGTERMs killed the process outright with 143).
    const signalled = new Promise<string>((resolve) => {
      process.once("SIGTERM", () => resolve("SIGTERM"));
      process.once("SIGINT", () => resolve("SIGINT"));
    });
    await ensureAdmin(opts.dataDir, log);
    const tls = tlsSetting ? await loadTlsOrExplain(tlsSetting, new Date()) : null;
    if (tlsSetting && tls) {
      const missing = missingNames(tlsSetting, tls);
      if (missing.length) {
        log.warn("the kept self-signed certificate does not carry every --tls-name", {
          missing,
          file: tls.certFile,
          hint: "it is made once, since agents pin it; to make a new one, rotate it (docs/install.md, Secure the link)",
        });
      }
    }
    const server = startServer({
      dataDir: opts.dataDir,
      hostname,
      port,
      log,
      agentRelease,
      trustedProxies,
      settings,
      tls,
      allowInsecureAgents: opts.allowInsecureAgents,
    });
    if (tls) {
      // Printed as well as logged: the operator pastes it into `enroll --fingerprint`.
      console.log(`TLS certificate fingerprint: ${tls.fingerprint}`);
      log.info("serving TLS", {
        certificate: tls.certFile,
        fingerprint: tls.fingerprint,
        ...(tls.next ? { next_fingerprint: tls.next } : {}),
      });
      process.on("SIGHUP", () => {
        loadTlsOrExplain(tlsSetting as TlsSetting, new Date())
          .then((next) => {
            server.reloadTls(next);
            log.info("reloaded the TLS certificate", {
              fingerprint: next.fingerprint,
              ...(next.next ? { next_fingerprint: next.next } : {}),
            });
          })
          .catch((err) =>
            log.error("SIGHUP: kept the current certificate; the new one is not usable", {
              error: String(err instanceof Error ? err.message : err),
            }),
          );
      });
    } else if (opts.allowInsecureAgents) {
      log.warn("--allow-insecure-agents: repository passwords go to agents over unencrypted connections");
    }
    log.info("restic-fleet-server listening", {
      url: server.url,
      data_dir: opts.dataDir,
      version: SERVER_VERSION,
      ...(trustedProxies.length ? { trusted_proxies: trustedProxies } : {}),
    });
    log.info("shutting down", { signal: await signalled });
    await server.stop().catch((err) => log.error("shutdown failed", { error: String(err) }));
  } finally {
    lock.release();
  }
  log.info("stopped");
}
