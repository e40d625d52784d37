import { DomainError } from "./errors.ts";
import { CONTROL } from "./names.ts";

/**
 * Notification channels (DESIGN §8.4): what a channel's config may hold, what of it is secret, and
 * the message every channel sends. Pure: the senders that do the I/O live in `server/src/notify/`.
 */
export const CHANNEL_KINDS = ["webhook", "ntfy", "slack", "discord", "email"] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** A JSON POST of the Notification, signed with HMAC-SHA256 when `secret` is set. */
export interface WebhookConfig {
  kind: "webhook";
  url: string;
  secret?: string;
}
/** `url` is the topic URL, e.g. `https://ntfy.sh/mytopic`; `token` an access token (`tk_…`). */
export interface NtfyConfig {
  kind: "ntfy";
  url: string;
  token?: string;
}
/** An incoming-webhook URL; whoever holds it can post, so the URL itself is the secret. */
export interface SlackConfig {
  kind: "slack";
  webhook_url: string;
}
export interface DiscordConfig {
  kind: "discord";
  webhook_url: string;
}
/** `smtp_url`: `smtps://user:pass@host:465` (implicit TLS) or `smtp://user:pass@host:587` (STARTTLS). */
export interface EmailConfig {
  kind: "email";
  smtp_url: string;
  from: string;
  to: string[];
}

/**
 * A checked channel config, discriminated by `kind`: `switch (c.kind)` narrows it. The kind is
 * part of the value, so what is sealed and stored is self-describing; the API's `config` object
 * is the same without `kind`.
 */
export type ChannelConfig = WebhookConfig | NtfyConfig | SlackConfig | DiscordConfig | EmailConfig;
/** The config of one kind, e.g. `ConfigOf<"ntfy">` = NtfyConfig. */
export type ConfigOf<K extends ChannelKind> = Extract<ChannelConfig, { kind: K }>;
/** A config as the API's `config` field holds it: without its kind. */
export type ConfigFields<K extends ChannelKind = ChannelKind> = K extends ChannelKind
  ? Omit<ConfigOf<K>, "kind">
  : never;

/** What one delivery attempt came to: the receiver's answer, or why there was none. */
export interface DeliveryResult {
  /** The receiver accepted it: a 2xx answer (for e-mail, the SMTP server's 250 to the message). */
  ok: boolean;
  /** The HTTP status (for e-mail, the SMTP reply code); null when no answer came at all. */
  status: number | null;
  /** What the receiver said, or what went wrong: at most 500 characters, never a secret. */
  detail: string;
}

/**
 * The fields that are encrypted at rest and never returned. For email the whole `smtp_url` is
 * secret: its password sits inside the URL's userinfo, and storing the URL as one encrypted value
 * is simpler and safer than splitting it. `publicConfig` shows it without the password.
 */
export const SECRET_FIELDS: Record<ChannelKind, string[]> = {
  webhook: ["secret"],
  ntfy: ["token"],
  slack: ["webhook_url"],
  discord: ["webhook_url"],
  email: ["smtp_url"],
};

const FIELDS: Record<ChannelKind, { required: string[]; optional: string[] }> = {
  webhook: { required: ["url"], optional: ["secret"] },
  ntfy: { required: ["url"], optional: ["token"] },
  slack: { required: ["webhook_url"], optional: [] },
  discord: { required: ["webhook_url"], optional: [] },
  email: { required: ["smtp_url", "from", "to"], optional: [] },
};

/** 2048: the longest URL every browser and proxy handles; a webhook URL is far shorter. */
const MAX_URL = 2048;
/** 50 recipients: a team's list; a larger audience belongs behind a mailing list. */
export const MAX_RECIPIENTS = 50;
/** 254: the longest address SMTP can carry (RFC 5321's 256-byte path less the angle brackets). */
const MAX_ADDRESS = 254;
/** Secrets and tokens go into headers and HMAC keys: printable ASCII, 1-512 characters. */
const TOKEN = /^[\x21-\x7e]{1,512}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it flattens
const CONTROLS = /[\u0000-\u001f\u007f]+/g;
/** local@domain, the domain made of DNS labels: plausible, not RFC 5322 in full (no quoted parts). */
const ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const invalid = (path: string, message: string) => new DomainError("invalid", `${path}: ${message}`, path);

const isKind = (kind: string): kind is ChannelKind => (CHANNEL_KINDS as readonly string[]).includes(kind);

function str(config: Record<string, unknown>, field: string): string {
  const value = config[field];
  if (typeof value !== "string" || value.trim() === "") throw invalid(`config.${field}`, "must be a non-empty string");
  return value.trim();
}

/** An http(s) URL with a host and no userinfo: credentials belong in the secret or token field. */
function httpUrl(config: Record<string, unknown>, field: string, needsPath = false): string {
  const path = `config.${field}`;
  const raw = str(config, field);
  if (raw.length > MAX_URL) throw invalid(path, `at most ${MAX_URL} characters`);
  if (CONTROL.test(raw)) throw invalid(path, "must not hold control characters");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(path, "must be an http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw invalid(path, "must be an http:// or https:// URL");
  if (url.hostname === "") throw invalid(path, "must name a host");
  if (url.username !== "" || url.password !== "") {
    throw invalid(path, "must not hold a user or password (put credentials in the secret or token field)");
  }
  if (needsPath && url.pathname.replace(/\/+$/, "") === "") {
    throw invalid(path, "must be the topic's URL, e.g. https://ntfy.sh/mytopic");
  }
  return raw;
}

function token(config: Record<string, unknown>, field: string): string | undefined {
  if (config[field] === undefined) return undefined;
  const value = config[field];
  if (typeof value !== "string" || !TOKEN.test(value)) {
    throw invalid(`config.${field}`, "must be 1-512 printable ASCII characters without spaces");
  }
  return value;
}

function address(value: unknown, path: string): string {
  if (typeof value !== "string") throw invalid(path, "must be an e-mail address such as ops@example.com");
  const a = value.trim();
  if (a.length > MAX_ADDRESS || !ADDRESS.test(a))
    throw invalid(path, "must be an e-mail address such as ops@example.com");
  return a;
}

function smtpUrl(config: Record<string, unknown>): string {
  const path = "config.smtp_url";
  const raw = str(config, "smtp_url");
  const shape = "must be smtp://[user:password@]host[:port] or smtps://… (implicit TLS)";
  if (raw.length > MAX_URL) throw invalid(path, `at most ${MAX_URL} characters`);
  if (CONTROL.test(raw)) throw invalid(path, "must not hold control characters");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(path, shape);
  }
  if (url.protocol !== "smtp:" && url.protocol !== "smtps:") throw invalid(path, shape);
  // `smtp:` is not a special scheme to WHATWG URL: `smtp:relay` parses with an empty host.
  if (url.hostname === "") throw invalid(path, `must name a host: ${shape}`);
  if (url.password !== "" && url.username === "") throw invalid(path, "a password needs a user");
  if (url.pathname !== "" && url.pathname !== "/") throw invalid(path, `must have no path: ${shape}`);
  if (url.search !== "" || url.hash !== "") throw invalid(path, `takes no query or fragment: ${shape}`);
  return raw;
}

/**
 * Checks a channel's kind and config, whatever door it came in by (the API, fleet-config): the
 * fields of DESIGN §8.4 and no others. The error names the field (`kind`, `config.url`,
 * `config.to.0`); a `kind` inside `config` is refused as an unknown field. Returns the config
 * trimmed, with its kind.
 */
export function checkChannelConfig(kind: string, config: unknown): ChannelConfig {
  if (!isKind(kind)) throw invalid("kind", `must be one of ${CHANNEL_KINDS.join(", ")}`);
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw invalid("config", "must be an object");
  }
  const c = config as Record<string, unknown>;
  const { required, optional } = FIELDS[kind];
  for (const field of Object.keys(c)) {
    if (!required.includes(field) && !optional.includes(field)) {
      throw invalid(
        `config.${field}`,
        `unknown field: a ${kind} channel takes ${[...required, ...optional].join(", ")}`,
      );
    }
  }
  for (const field of required) if (c[field] === undefined) throw invalid(`config.${field}`, "is required");
  switch (kind) {
    case "webhook": {
      const secret = token(c, "secret");
      return { kind, url: httpUrl(c, "url"), ...(secret === undefined ? {} : { secret }) };
    }
    case "ntfy": {
      const t = token(c, "token");
      return { kind, url: httpUrl(c, "url", true), ...(t === undefined ? {} : { token: t }) };
    }
    case "slack":
      return { kind, webhook_url: httpUrl(c, "webhook_url") };
    case "discord":
      return { kind, webhook_url: httpUrl(c, "webhook_url") };
    case "email": {
      const smtp_url = smtpUrl(c);
      const from = address(c.from, "config.from");
      const to = c.to;
      if (!Array.isArray(to) || to.length < 1 || to.length > MAX_RECIPIENTS) {
        throw invalid("config.to", `must be a list of 1-${MAX_RECIPIENTS} e-mail addresses`);
      }
      return { kind, smtp_url, from, to: to.map((a, i) => address(a, `config.to.${i}`)) };
    }
    default: {
      const never: never = kind;
      throw invalid("kind", `unknown kind ${String(never)}`);
    }
  }
}

/**
 * The config as API responses show it: no secret ever. Each secret is replaced by a `has_…` flag
 * under another name, so a client that sends a shown config back cannot store the mask as a value.
 * Slack and Discord show only the webhook's host; email shows `smtp_url` with its password removed.
 * Called with a checked config, or with a kind and the config's fields.
 */
export function publicConfig(config: ChannelConfig): Record<string, unknown>;
export function publicConfig<K extends ChannelKind>(kind: K, config: ConfigFields<K>): Record<string, unknown>;
export function publicConfig(a: ChannelConfig | ChannelKind, b?: unknown): Record<string, unknown> {
  const c = (typeof a === "string" ? { ...(b as object), kind: a } : a) as ChannelConfig;
  switch (c.kind) {
    case "webhook":
      return { url: c.url, has_secret: c.secret !== undefined };
    case "ntfy":
      return { url: c.url, has_token: c.token !== undefined };
    case "slack":
    case "discord":
      return { webhook_host: hostOf(c.webhook_url), has_webhook_url: true };
    case "email": {
      let shown = "";
      let hasPassword = false;
      try {
        const u = new URL(c.smtp_url);
        hasPassword = u.password !== "";
        shown = `${u.protocol}//${u.username === "" ? "" : `${u.username}@`}${u.host}`;
      } catch {
        // A stored config was checked on the way in; show nothing rather than the raw value.
      }
      return { smtp_url: shown, has_password: hasPassword, from: c.from, to: [...c.to] };
    }
    default: {
      // Unreachable by type; at run time an unknown kind shows nothing rather than its fields.
      const never: never = c;
      void never;
      return {};
    }
  }
}

const hostOf = (url: string): string => {
  try {
    return new URL(url).host;
  } catch {
    return "";
  }
};

/** One alert as every channel gets it (DESIGN §8.4's webhook body). */
export interface AlertItem {
  id: string;
  condition: string;
  host_id: string;
  host_name: string;
  labels: Record<string, string>;
  started_at: string;
  resolved_at: string | null;
  summary: string;
}

/** One message to one channel; alerts firing within 30 s for the same channel come as one. */
export interface Notification {
  event: "alert.firing" | "alert.resolved" | "test";
  alerts: AlertItem[];
  sent_at: string;
}

const CONDITION_TEXT: Record<string, string> = {
  backup_failed: "backup failed",
  backup_warning: "backup finished with warnings",
  backup_stale: "backup stale",
  host_offline: "host offline",
  check_failed: "check failed",
  drill_failed: "restore drill failed",
};
const conditionText = (c: string) => CONDITION_TEXT[c] ?? c.replaceAll("_", " ");

/** 20 names: what a phone notification or a chat line still shows; the count says the rest. */
export const MAX_NAMES = 20;
/** In the title, 3 names: it is one line on a lock screen. */
const TITLE_NAMES = 3;
/** One summary line at most 300 characters: a restic error's first line, not its whole stderr. */
const MAX_SUMMARY = 300;

const oneLine = (s: string, max: number) => {
  const line = s.replace(CONTROLS, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** `a, b, c` or, past `max`, `a, b, c and 7 more`. */
export function nameList(names: string[], max = MAX_NAMES): string {
  if (names.length <= max) return names.join(", ");
  return `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

interface Group {
  condition: string;
  alerts: AlertItem[];
}

function groups(alerts: AlertItem[]): Group[] {
  const byCondition = new Map<string, AlertItem[]>();
  for (const a of alerts) {
    const list = byCondition.get(a.condition);
    if (list) list.push(a);
    else byCondition.set(a.condition, [a]);
  }
  return [...byCondition].map(([condition, list]) => ({ condition, alerts: list }));
}

const hostName = (a: AlertItem) => oneLine(a.host_name || a.host_id, 100);
const distinctHosts = (alerts: AlertItem[]) => new Set(alerts.map((a) => a.host_id)).size;

/**
 * The message as people read it (ntfy, Slack, Discord, e-mail): one line per condition naming
 * every host (`3 hosts: backup failed — web-01, web-02, db-01`, past 20 names "and N more"),
 * then each host's summary, again at most 20 per condition.
 */
export function renderText(n: Notification): { title: string; body: string } {
  if (n.event === "test") {
    return {
      title: "Restic Fleet: test notification",
      body: `This is a test message from Restic Fleet, sent at ${n.sent_at}. If you can read it, this channel works.`,
    };
  }
  const resolved = n.event === "alert.resolved";
  const state = resolved ? "Resolved" : "Firing";
  const gs = groups(n.alerts);
  if (gs.length === 0) return { title: `Restic Fleet: ${state.toLowerCase()}`, body: "(no alerts)" };

  const heading = (g: Group) => `${plural(distinctHosts(g.alerts), "host")}: ${conditionText(g.condition)}`;
  let title: string;
  const [only] = gs;
  if (only && gs.length === 1) {
    const names = [...new Set(only.alerts.map(hostName))];
    title = `${state}: ${heading(only)} — ${nameList(names, TITLE_NAMES)}`;
  } else {
    title =
      `${state}: ${plural(n.alerts.length, "alert")} on ${plural(distinctHosts(n.alerts), "host")} — ` +
      gs.map((g) => conditionText(g.condition)).join(", ");
  }

  const sections = gs.map((g) => {
    const names = [...new Set(g.alerts.map(hostName))];
    const lines = [`${heading(g)}${resolved ? ", resolved" : ""} — ${nameList(names)}`];
    for (const a of g.alerts.slice(0, MAX_NAMES)) {
      const since = resolved && a.resolved_at ? `resolved ${a.resolved_at}` : `since ${a.started_at}`;
      lines.push(`• ${hostName(a)}: ${oneLine(a.summary, MAX_SUMMARY)} (${since})`);
    }
    if (g.alerts.length > MAX_NAMES) lines.push(`• and ${g.alerts.length - MAX_NAMES} more`);
    return lines.join("\n");
  });
  return { title, body: sections.join("\n\n") };
}
