import { STATUS_CODES } from "node:http";
import { DEFAULT_TIMEOUT_MS, type DeliveryResult, detailOf, type SendOptions } from "./result.ts";

/** 4 KiB of the answer is read at most: the detail keeps 500 characters of it. */
const MAX_ANSWER_BYTES = 4096;

export interface HttpPost {
  url: string;
  headers: Record<string, string>;
  body: string | Uint8Array<ArrayBuffer>;
  /** Strings that must not appear in the detail (tokens, a secret URL and its path). */
  secrets: readonly string[];
}

/**
 * One POST with a deadline over the whole exchange, the answer read only in part. Never throws: a
 * 2xx is ok, any other status is not ok with the start of the body, and no answer at all is
 * `status: null` with a detail such as `connection refused to 127.0.0.1:8080`. Redirects are not
 * followed: a POST turned into a GET would lose the message, so a 3xx is reported instead.
 */
export async function postHttp(req: HttpPost, opts: SendOptions = {}): Promise<DeliveryResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const doFetch = opts.fetch ?? fetch;
  const target = hostPort(req.url);
  try {
    const res = await doFetch(req.url, {
      method: "POST",
      headers: req.headers,
      body: req.body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const answer = await readStart(res);
    const reason = res.statusText || STATUS_CODES[res.status] || "";
    let said = `${res.status}${reason ? ` ${reason}` : ""}`;
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) said += ` (redirect to ${location}: not followed)`;
    if (answer.trim() !== "") said += `: ${answer}`;
    return { ok: res.status >= 200 && res.status < 300, status: res.status, detail: detailOf(said, req.secrets) };
  } catch (err) {
    return { ok: false, status: null, detail: detailOf(describe(err, target, timeoutMs), req.secrets) };
  }
}

async function readStart(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_ANSWER_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all.subarray(0, MAX_ANSWER_BYTES));
}

/** `host:port` of a URL, the port spelled out even when it is the scheme's default. */
export function hostPort(url: string): string {
  try {
    const u = new URL(url);
    const port = u.port || (u.protocol === "https:" ? "443" : u.protocol === "http:" ? "80" : "");
    return port ? `${u.hostname}:${port}` : u.hostname;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * Why no answer came, in words, from the error's name and code only: the error's own text may
 * carry the whole URL (Bun's fetch errors keep it in `path`), which for Slack and Discord is the
 * secret.
 */
function describe(err: unknown, target: string, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `no answer from ${target} within ${timeoutMs} ms`;
  switch (e?.code) {
    case "ECONNREFUSED":
    case "ConnectionRefused":
      return `connection refused to ${target}`;
    case "ENOTFOUND":
      return `could not resolve ${target.replace(/:\d+$/, "")}`;
    case "ECONNRESET":
    case "ConnectionClosed":
      return `connection to ${target} closed before an answer`;
    case "ETIMEDOUT":
      return `connecting to ${target} timed out`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `no route to ${target}`;
    default:
      if (e?.code && /CERT|SSL|TLS|SELF_SIGNED|VERIFY/i.test(e.code)) return `TLS failed with ${target}: ${e.code}`;
      return `request to ${target} failed: ${e?.code ?? e?.name ?? "error"}${e?.message ? ` (${e.message})` : ""}`;
  }
}
