/** The agent's log: one JSON object per line on stderr, with secrets redacted by the caller's redactor. */
export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const LEVELS = Object.keys(ORDER) as Level[];

/**
 * `redact` is applied to every finished line, so a secret that reached a message or a field by
 * mistake is still masked (the repository password, credential and agent token are registered).
 */
export function createLogger(
  min: Level,
  redact: (line: string) => string = (l) => l,
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[min]) return;
    write(redact(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A set of secrets masked in log lines; secrets shorter than 4 characters are not worth masking. */
/**
 * The password inside a repository URL (rest:https://user:PASSWORD@host/) as written and decoded,
 * or nothing: what every redaction and every shown URL must hide.
 */
export function urlPasswordForms(url: string | undefined | null): string[] {
  const m = url ? /:\/\/[^/:@]*:([^/@]+)@/.exec(url) : null;
  if (!m?.[1]) return [];
  let decoded = m[1];
  try {
    decoded = decodeURIComponent(m[1]);
  } catch {
    // Not percent-encoded text: hide it as written.
  }
  return decoded === m[1] ? [m[1]] : [m[1], decoded];
}

export class Redactor {
  #secrets = new Set<string>();
  add(secret: string | undefined | null): void {
    if (secret && secret.length >= 4) this.#secrets.add(secret);
  }

  /** The password inside a repository URL (rest:https://user:PASSWORD@host/), if any. */
  addUrlPassword(url: string | undefined | null): void {
    for (const s of urlPasswordForms(url)) this.add(s);
  }
  redact = (text: string): string => {
    let out = text;
    for (const s of this.#secrets) {
      out = out.split(s).join("***");
      const json = JSON.stringify(s).slice(1, -1);
      if (json !== s) out = out.split(json).join("***");
    }
    return out;
  };
}
