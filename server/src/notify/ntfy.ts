import { type Notification, type NtfyConfig, renderText } from "../domain/channels.ts";
import { postHttp } from "./http.ts";
import type { DeliveryResult, SendOptions } from "./result.ts";
import { USER_AGENT } from "./webhook.ts";

/** 4096 bytes: ntfy's default message limit; a longer body would turn into an attachment. */
export const NTFY_MAX_BYTES = 4096;

/** ntfy's priorities 1-5: firing 4 (high: a long vibration), resolved and test 3 (default). */
const PRIORITY: Record<Notification["event"], string> = { "alert.firing": "4", "alert.resolved": "3", test: "3" };
/** Tags that name an emoji are shown as it before the title. */
const TAGS: Record<Notification["event"], string> = {
  "alert.firing": "warning",
  "alert.resolved": "white_check_mark",
  test: "bell",
};

/**
 * A header value as ntfy reads it: plain when ASCII, otherwise RFC 2047 (`=?UTF-8?B?…?=`), which
 * ntfy decodes; fetch refuses anything beyond Latin-1 in a header, and ntfy misreads Latin-1.
 */
export function headerValue(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a header holds no control characters
  const flat = s.replace(/[\u0000-\u001f\u007f]+/g, " ");
  if (/^[\x20-\x7e]*$/.test(flat)) return flat;
  return `=?UTF-8?B?${Buffer.from(flat, "utf8").toString("base64")}?=`;
}

/** `s` cut to at most `max` UTF-8 bytes, on a character boundary, ending in `…` when cut. */
export function clipBytes(s: string, max: number): string {
  const bytes = new TextEncoder().encode(s);
  if (bytes.byteLength <= max) return s;
  let end = max - 3; // "…" is 3 bytes
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1; // back to the start of a character
  return `${new TextDecoder().decode(bytes.subarray(0, end))}…`;
}

/** A publish to the topic URL: the text as the body, the title, priority and tags as headers. */
export function sendNtfy(config: NtfyConfig, n: Notification, opts?: SendOptions): Promise<DeliveryResult> {
  const { title, body } = renderText(n);
  const headers: Record<string, string> = {
    "content-type": "text/plain; charset=utf-8",
    "user-agent": USER_AGENT,
    title: headerValue(title),
    priority: PRIORITY[n.event],
    tags: TAGS[n.event],
  };
  if (config.token !== undefined) headers.authorization = `Bearer ${config.token}`;
  return postHttp(
    { url: config.url, headers, body: clipBytes(body, NTFY_MAX_BYTES), secrets: config.token ? [config.token] : [] },
    opts,
  );
}
