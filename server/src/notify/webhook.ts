import { createHmac } from "node:crypto";
import type { Notification, WebhookConfig } from "../domain/channels.ts";
import { postHttp } from "./http.ts";
import type { DeliveryResult, SendOptions } from "./result.ts";

export const USER_AGENT = "restic-fleet-server";
export const SIGNATURE_HEADER = "X-Restic-Fleet-Signature";

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes, keyed with the channel's secret. */
export const signature = (secret: string, body: Uint8Array | string) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

/** The Notification as JSON, as DESIGN §8.4 gives it; signed when the channel has a secret. */
export function sendWebhook(config: WebhookConfig, n: Notification, opts?: SendOptions): Promise<DeliveryResult> {
  const body = new TextEncoder().encode(JSON.stringify(n));
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    "x-restic-fleet-event": n.event,
  };
  if (config.secret !== undefined) headers[SIGNATURE_HEADER.toLowerCase()] = signature(config.secret, body);
  return postHttp({ url: config.url, headers, body, secrets: config.secret ? [config.secret] : [] }, opts);
}
