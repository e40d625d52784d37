// restic-fleet-agent entry point; the compiled executable runs this same code.
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import * as v from "valibot";
import { ResticHost } from "../../protocol/index.ts";
import { Agent } from "./agent.ts";
import { defaultStateDir, EXIT, HELP, MAIN_HELP } from "./cli/help.ts";
import { collectStatus, formatStatus } from "./cli/status.ts";
import { realClock } from "./clock.ts";
import { enroll } from "./enroll.ts";
import { bunJitPolicy } from "./jit-policy.ts";
import { createLogger, LEVELS, type Level, Redactor } from "./log.ts";
import { StateStore } from "./state/state-store.ts";
import { AGENT_VERSION } from "./version.ts";

class UsageError extends Error {}

const truthy = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v);

async function doEnroll(
  stateDir: string,
  server: string,
  token: string,
  name: string,
  force: boolean,
  log: ReturnType<typeof createLogger>,
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
  const res = await enroll(server, token, name);
  await state.setIdentity({
    server_url: new URL(server).toString(),
    host_id: res.host_id,
    agent_token: res.agent_token,
    restic_host: name,
  });
  await state.settled();
  return res.host_id;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: "boolean", short: "h" },
      server: { type: "string" },
      token: { type: "string" },
      hostname: { type: "string" },
      force: { type: "boolean" },
      "state-dir": { type: "string" },
      restic: { type: "string" },
      "no-remote-hooks": { type: "boolean" },
      "log-level": { type: "string" },
      json: { type: "boolean" },
    },
  });
  const [command] = positionals;
  if (!command || command === "help") {
    console.log(MAIN_HELP);
    return command || values.help ? EXIT.ok : EXIT.usage;
  }
  if (values.help) {
    console.log(HELP[command] ?? MAIN_HELP);
    return EXIT.ok;
  }
  const stateDir = values["state-dir"] ?? process.env.RF_STATE_DIR ?? defaultStateDir();
  const level = (values["log-level"] ?? process.env.RF_LOG_LEVEL ?? "info") as Level;
  if (!LEVELS.includes(level)) throw new UsageError("--log-level must be debug, info, warn or error");
  const redactor = new Redactor();
  const log = createLogger(level, redactor.redact);

  switch (command) {
    case "version":
      console.log(`restic-fleet-agent ${AGENT_VERSION}`);
      return EXIT.ok;
    case "enroll": {
      const server = values.server ?? process.env.RF_SERVER;
      const token = values.token ?? process.env.RF_ENROLL_TOKEN;
      if (!server || !token) throw new UsageError("enroll needs --server URL and --token TOKEN");
      redactor.add(token);
      const hostId = await doEnroll(stateDir, server, token, values.hostname ?? hostname(), !!values.force, log);
      console.log(`enrolled as host ${hostId}; start the agent with: restic-fleet-agent run`);
      return EXIT.ok;
    }
    case "status": {
      const s = await collectStatus(stateDir);
      console.log(values.json ? JSON.stringify(s, null, 2) : formatStatus(s));
      return s.enrolled ? EXIT.ok : EXIT.notEnrolled;
    }
    case "run": {
      const server = process.env.RF_SERVER;
      const token = process.env.RF_ENROLL_TOKEN;
      const opts = {
        stateDir,
        resticPath: values.restic ?? process.env.RF_RESTIC ?? "restic",
        allowRemoteHooks: !(values["no-remote-hooks"] || truthy(process.env.RF_NO_REMOTE_HOOKS)),
        clock: realClock,
        log,
        redactor,
        version: AGENT_VERSION,
        setJitPolicy: bunJitPolicy,
      };
      let agent = await Agent.open(opts);
      if (!agent && server && token) {
        redactor.add(token);
        const hostId = await doEnroll(stateDir, server, token, values.hostname ?? hostname(), false, log);
        log.info("enrolled from RF_SERVER and RF_ENROLL_TOKEN", { host_id: hostId });
        agent = await Agent.open(opts);
      }
      if (!agent) {
        log.error(
          "not enrolled: run 'restic-fleet-agent enroll --server URL --token T', or set RF_SERVER and RF_ENROLL_TOKEN",
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
  const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
  console.error(`restic-fleet-agent: ${err instanceof Error ? err.message : String(err)}`);
  if (usage) console.error("Run 'restic-fleet-agent --help' for usage.");
  process.exitCode = usage ? EXIT.usage : EXIT.error;
}
