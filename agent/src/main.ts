// restic-fleet-agent entry point; the compiled executable runs this same code.
import { hostname } from "node:os";
import * as v from "valibot";
import { ResticHost } from "../../protocol/index.ts";
import { Agent } from "./agent.ts";
import { parseCommandLine, UsageError } from "./cli/command-line.ts";
import { defaultStateDir, EXIT, HELP, MAIN_HELP } from "./cli/help.ts";
import { agentCommandLine } from "./cli/hint.ts";
import { COMMAND_OPTIONS, OPTIONS } from "./cli/options.ts";
import { policyCommand } from "./cli/policy.ts";
import { collectStatus, formatStatus } from "./cli/status.ts";
import { realClock } from "./clock.ts";
import { enroll } from "./enroll.ts";
import { releaseCleanPages } from "./idle-pages.ts";
import { bunJitPolicy } from "./jit-policy.ts";
import { createLogger, LEVELS, type Level, Redactor } from "./log.ts";
import { loadHostPolicy, PolicyFileError } from "./policy/load-policy.ts";
import { StateStore } from "./state/state-store.ts";
import { normalizeFingerprint } from "./tls/fingerprint.ts";
import type { ServerTrust } from "./tls/server-trust.ts";
import { AGENT_VERSION } from "./version.ts";

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v);

async function doEnroll(
  stateDir: string,
  server: string,
  token: string,
  name: string,
  force: boolean,
  log: ReturnType<typeof createLogger>,
  link: EnrollLink,
) {
  if (!v.is(ResticHost, name)) {
    throw new UsageError(
      `--hostname ${JSON.stringify(name)} cannot be a restic host name: it must not be empty, start with '-', or contain ',' or control characters`,
    );
  }
  const state = await StateStore.open(stateDir, { log });
  const existing = state.identity();
  if (existing && !force) {
    throw new Error(
      `already enrolled as host ${existing.host_id} on ${existing.server_url}; pass --force to enroll again`,
    );
  }
  const res = await enroll(server, token, name, link.trust, link.insecure);
  await state.setIdentity({
    server_url: new URL(server).toString(),
    host_id: res.host_id,
    agent_token: res.agent_token,
    restic_host: name,
    ...(link.trust.pins?.length ? { tls_pins: [...link.trust.pins] } : {}),
    ...(link.trust.ca ? { tls_ca: link.trust.ca } : {}),
  });
  await state.settled();
  return res.host_id;
}

interface EnrollLink {
  trust: ServerTrust;
  insecure: boolean;
}

/** How enrollment reaches the server: --fingerprint / RF_SERVER_FINGERPRINT, --ca / RF_CA, --insecure. */
async function enrollLink(values: {
  fingerprint?: string | undefined;
  ca?: string | undefined;
  insecure?: boolean | undefined;
}): Promise<EnrollLink> {
  const fp = values.fingerprint ?? (process.env.RF_SERVER_FINGERPRINT || undefined);
  const pin = fp === undefined ? undefined : normalizeFingerprint(fp);
  if (pin === null) {
    throw new UsageError(
      `--fingerprint must be the server's sha256:<64 hex digits> (GET /api/v1/server-info); got "${fp}"`,
    );
  }
  const caFile = values.ca ?? (process.env.RF_CA || undefined);
  let ca: string | undefined;
  if (caFile) {
    ca = await Bun.file(caFile)
      .text()
      .catch(() => {
        throw new UsageError(`--ca ${caFile}: cannot read the file`);
      });
    if (!ca.includes("-----BEGIN CERTIFICATE-----")) throw new UsageError(`--ca ${caFile} holds no PEM certificate`);
  }
  return {
    trust: { ...(pin ? { pins: [pin] } : {}), ...(ca ? { ca } : {}) },
    insecure: !!values.insecure || truthy(process.env.RF_INSECURE),
  };
}

/** The host policy from --policy, RF_POLICY or the default file; a bad file is a usage error. */
async function policyFrom(
  values: { policy?: string | undefined; "no-remote-hooks"?: boolean | undefined },
  stateDir: string,
) {
  try {
    return await loadHostPolicy({
      stateDir,
      path: values.policy ?? (process.env.RF_POLICY || undefined),
      noRemoteHooks: !!values["no-remote-hooks"] || truthy(process.env.RF_NO_REMOTE_HOOKS),
    });
  } catch (err) {
    if (err instanceof PolicyFileError) throw new UsageError(err.message);
    throw err;
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, command, help } = parseCommandLine("restic-fleet-agent", argv, OPTIONS, COMMAND_OPTIONS);
  if (!command || command === "help") {
    console.log(MAIN_HELP);
    return command || values.help ? EXIT.ok : EXIT.usage;
  }
  if (values.help) {
    console.log(HELP[command] ?? MAIN_HELP);
    return EXIT.ok;
  }
  const stateDir = values["state-dir"] ?? process.env.RF_STATE_DIR ?? defaultStateDir();
  // Only the commands that log read RF_LOG_LEVEL: a bad one must not stop 'status' or 'version'.
  const logs = COMMAND_OPTIONS[command]?.includes("log-level");
  const level = (logs ? (values["log-level"] ?? process.env.RF_LOG_LEVEL ?? "info") : "info") as Level;
  if (!LEVELS.includes(level)) {
    throw new UsageError(`--log-level (or RF_LOG_LEVEL) must be debug, info, warn or error; got "${level}"`, help);
  }
  const redactor = new Redactor();
  const log = createLogger(level, redactor.redact);

  switch (command) {
    case "version":
      console.log(`restic-fleet-agent ${AGENT_VERSION}`);
      return EXIT.ok;
    case "enroll": {
      const server = values.server ?? process.env.RF_SERVER;
      const token = values.token ?? process.env.RF_ENROLL_TOKEN;
      if (!server || !token) throw new UsageError("enroll needs --server URL and --token TOKEN", help);
      redactor.add(token);
      const link = await enrollLink(values);
      const hostId = await doEnroll(stateDir, server, token, values.hostname ?? hostname(), !!values.force, log, link);
      console.log(`enrolled as host ${hostId}; start the agent with: ${agentCommandLine("run", stateDir)}`);
      return EXIT.ok;
    }
    case "status": {
      const s = await collectStatus(stateDir);
      console.log(values.json ? JSON.stringify(s, null, 2) : formatStatus(s));
      return s.enrolled ? EXIT.ok : EXIT.notEnrolled;
    }
    case "policy":
      return await policyCommand(stateDir, await policyFrom(values, stateDir), !!values["reset-pin"]);
    case "run": {
      const server = process.env.RF_SERVER;
      const token = process.env.RF_ENROLL_TOKEN;
      const policy = await policyFrom(values, stateDir);
      log.info("host policy", { ...policy });
      const opts = {
        stateDir,
        resticPath: values.restic ?? process.env.RF_RESTIC ?? "restic",
        policy,
        clock: realClock,
        log,
        redactor,
        version: AGENT_VERSION,
        setJitPolicy: bunJitPolicy,
        releasePages: releaseCleanPages,
      };
      let agent = await Agent.open(opts);
      if (!agent && server && token) {
        redactor.add(token);
        const link = await enrollLink(values);
        const hostId = await doEnroll(stateDir, server, token, values.hostname ?? hostname(), false, log, link);
        log.info("enrolled from RF_SERVER and RF_ENROLL_TOKEN", { host_id: hostId });
        agent = await Agent.open(opts);
      }
      if (!agent) {
        log.error(
          `not enrolled: run '${agentCommandLine("enroll --server URL --token T", stateDir)}', or set RF_SERVER and RF_ENROLL_TOKEN`,
          {
            state_dir: stateDir,
          },
        );
        return EXIT.notEnrolled;
      }
      const stop = new AbortController();
      for (const sig of ["SIGTERM", "SIGINT"] as const) {
        process.once(sig, () => {
          log.info("stopping", { signal: sig });
          stop.abort();
        });
      }
      log.info("restic-fleet-agent starting", {
        version: AGENT_VERSION,
        host_id: agent.identity.host_id,
        state_dir: stateDir,
      });
      const outcome = await agent.run(stop.signal);
      return outcome === "unauthorized" ? EXIT.revoked : EXIT.ok;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  const usage = err instanceof UsageError;
  console.error(`restic-fleet-agent: ${err instanceof Error ? err.message : String(err)}`);
  if (usage) console.error(`Run '${err.help ?? "restic-fleet-agent --help"}' for usage.`);
  process.exitCode = usage ? EXIT.usage : EXIT.error;
}
