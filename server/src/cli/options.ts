/** Every option of restic-fleet-server (util.parseArgs' form); main.ts reads them by these names. */
export const OPTIONS = {
  help: { type: "boolean", short: "h" },
  listen: { type: "string" },
  "data-dir": { type: "string" },
  "log-level": { type: "string" },
  role: { type: "string" },
  user: { type: "string" },
  name: { type: "string" },
  uses: { type: "string" },
  expires: { type: "string" },
  label: { type: "string", multiple: true },
  "trusted-proxy": { type: "string", multiple: true },
  tls: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-next-cert": { type: "string" },
  "tls-name": { type: "string", multiple: true },
  "allow-insecure-agents": { type: "boolean" },
  switch: { type: "boolean" },
  server: { type: "string" },
  token: { type: "string" },
} as const;

type Option = keyof typeof OPTIONS;

/** The options each command takes (and --help); help.ts's usage lines list exactly these. */
export const COMMAND_OPTIONS: Record<string, readonly Option[]> = {
  serve: [
    "listen",
    "data-dir",
    "log-level",
    "trusted-proxy",
    "tls",
    "tls-name",
    "tls-cert",
    "tls-key",
    "tls-next-cert",
    "allow-insecure-agents",
  ],
  tls: ["switch", "tls-name", "data-dir"],
  user: ["role", "data-dir"],
  "api-token": ["user", "name", "data-dir"],
  "enrollment-token": ["uses", "expires", "label", "data-dir"],
  config: ["server", "token"],
  version: [],
  help: [],
};
