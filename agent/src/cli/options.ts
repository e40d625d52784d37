/** Every option of restic-fleet-agent (util.parseArgs' form); main.ts reads them by these names. */
export const OPTIONS = {
  help: { type: "boolean", short: "h" },
  server: { type: "string" },
  token: { type: "string" },
  hostname: { type: "string" },
  force: { type: "boolean" },
  fingerprint: { type: "string" },
  ca: { type: "string" },
  insecure: { type: "boolean" },
  "state-dir": { type: "string" },
  restic: { type: "string" },
  "no-remote-hooks": { type: "boolean" },
  policy: { type: "string" },
  "reset-pin": { type: "boolean" },
  "log-level": { type: "string" },
  json: { type: "boolean" },
} as const;

type Option = keyof typeof OPTIONS;

/** How enroll, and run when it enrolls from RF_SERVER and RF_ENROLL_TOKEN, reach the server. */
const ENROLLING: Option[] = ["hostname", "fingerprint", "ca", "insecure"];

/** The options each command takes (and --help); help.ts's usage lines list exactly these. */
export const COMMAND_OPTIONS: Record<string, readonly Option[]> = {
  enroll: ["server", "token", ...ENROLLING, "state-dir", "force", "log-level"],
  run: ["state-dir", "restic", "policy", "no-remote-hooks", "log-level", ...ENROLLING],
  policy: ["policy", "no-remote-hooks", "state-dir", "reset-pin"],
  status: ["state-dir", "json"],
  version: [],
  help: [],
};
