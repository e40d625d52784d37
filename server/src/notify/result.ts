import type { DeliveryResult } from "../domain/channels.ts";

export type { DeliveryResult };

export interface SendOptions {
  /** For the whole attempt: connect, send and the answer. */
  timeoutMs?: number;
  /** The HTTP client; `globalThis.fetch` unless a caller needs another (a proxy, a test). */
  fetch?: typeof fetch;
}

/** 10 s: a receiver that has not answered by then is down for our purposes; the queue retries. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** 500 characters: enough for a receiver's error message, short enough to store per channel. */
export const MAX_DETAIL = 500;

/**
 * `s` cut to at most `max` UTF-16 units, ending in `marker` when cut, without splitting a surrogate
 * pair (an emoji cut in half is an invalid string to JSON-minded receivers such as Discord).
 */
export function clip(s: string, max: number, marker = "…"): string {
  if (s.length <= max) return s;
  let end = Math.max(0, max - marker.length);
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1; // a high surrogate whose pair would be cut off
  return s.slice(0, end) + marker;
}

/** Each secret in `text` replaced by `[redacted]`, longest first so a URL goes before its path. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...new Set(secrets)].filter((x) => x !== "").sort((a, b) => b.length - a.length)) {
    out = out.split(s).join("[redacted]");
  }
  return out;
}

/** The detail as stored and shown: control characters flattened, secrets out, then clipped. */
export function detailOf(text: string, secrets: readonly string[]): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it flattens
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return clip(redact(flat, secrets), MAX_DETAIL);
}

/** The strings that must never reach a detail for a secret URL: the whole URL and its path with query. */
export function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    const tail = u.pathname + u.search;
    return [url, u.href, ...(tail.length >= 8 ? [tail, encodeURI(tail)] : [])];
  } catch {
    return [url];
  }
}
