// restic-fleet-server entry point; the compiled executable runs this same code.
import { apiTokenCommand, enrollmentTokenCommand, userCommand } from "./cli/admin.ts";
import { parseCommandLine } from "./cli/command-line.ts";
import { configCommand } from "./cli/config.ts";
import { HELP, MAIN_HELP } from "./cli/help.ts";
import { COMMAND_OPTIONS, OPTIONS } from "./cli/options.ts";
import { serveCommand } from "./cli/serve.ts";
import { tlsRotateCommand } from "./cli/tls-rotate.ts";
import { UsageError } from "./cli/usage-error.ts";
import { SERVER_VERSION } from "./version.ts";

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine("restic-fleet-server", argv, OPTIONS, COMMAND_OPTIONS);
  const [command, ...rest] = positionals;
  if (!command || command === "help") {
    console.log(MAIN_HELP);
    return command ? 0 : values.help ? 0 : 2;
  }
  if (values.help) {
    console.log(HELP[command] ?? MAIN_HELP);
    return 0;
  }
  const dataDir = values["data-dir"] ?? process.env.RF_DATA_DIR ?? "/var/lib/restic-fleet-server";
  switch (command) {
    case "version":
      console.log(`restic-fleet-server ${SERVER_VERSION}`);
      return 0;
    case "serve":
      await serveCommand({
        listen: values.listen ?? process.env.RF_LISTEN ?? "127.0.0.1:8080",
        dataDir,
        logLevel: values["log-level"] ?? process.env.RF_LOG_LEVEL ?? "info",
        trustedProxies:
          values["trusted-proxy"] ?? (process.env.RF_TRUSTED_PROXY ?? "").split(",").filter((s) => s.trim()),
        tls: values,
        allowInsecureAgents:
          !!values["allow-insecure-agents"] || /^(1|true|yes|on)$/i.test(process.env.RF_ALLOW_INSECURE_AGENTS ?? ""),
      });
      return 0;
    case "user":
      await userCommand(rest, values, dataDir);
      return 0;
    case "api-token":
      apiTokenCommand(rest, values, dataDir);
      return 0;
    case "tls":
      if (rest[0] !== "rotate")
        throw new UsageError("usage: restic-fleet-server tls rotate [--switch] [--data-dir DIR]");
      await tlsRotateCommand(dataDir, { switch: !!values.switch, names: values["tls-name"] ?? [] });
      return 0;
    case "config":
      await configCommand(rest, values);
      return 0;
    case "enrollment-token":
      enrollmentTokenCommand(rest, values, dataDir);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  const usage = err instanceof UsageError;
  console.error(`restic-fleet-server: ${err instanceof Error ? err.message : String(err)}`);
  if (usage) console.error(`Run '${err.help ?? "restic-fleet-server --help"}' for usage.`);
  process.exitCode = usage ? 2 : 1;
}
