import type { ChannelConfig, ChannelKind, ConfigFields, Notification } from "../domain/channels.ts";
import { sendDiscord } from "./discord.ts";
import { sendEmail } from "./email.ts";
import { sendNtfy } from "./ntfy.ts";
import { type DeliveryResult, detailOf, type SendOptions } from "./result.ts";
import { sendSlack } from "./slack.ts";
import { sendWebhook } from "./webhook.ts";

export type { DeliveryResult, SendOptions } from "./result.ts";

/**
 * Sends one notification to one channel, once: retrying is the durable queue's work. Never throws;
 * the result says what the receiver answered, with secrets kept out of its detail. `config` is a
 * checked config (`checkChannelConfig`), with or without its `kind`; one of another kind is refused.
 */
export async function send(
  kind: ChannelKind,
  config: ChannelConfig | ConfigFields,
  n: Notification,
  opts?: SendOptions,
): Promise<DeliveryResult> {
  const given = (config as { kind?: unknown }).kind;
  if (given !== undefined && given !== kind) {
    return { ok: false, status: null, detail: `a ${String(given)} config cannot be sent as ${kind}` };
  }
  const c = { ...config, kind } as ChannelConfig;
  try {
    switch (c.kind) {
      case "webhook":
        return await sendWebhook(c, n, opts);
      case "ntfy":
        return await sendNtfy(c, n, opts);
      case "slack":
        return await sendSlack(c, n, opts);
      case "discord":
        return await sendDiscord(c, n, opts);
      case "email":
        return await sendEmail(c, n, opts);
      default: {
        const never: never = c;
        return { ok: false, status: null, detail: `unknown channel kind ${String((never as { kind: unknown }).kind)}` };
      }
    }
  } catch (err) {
    // A bug, not a receiver's answer; still a result, with every string of the config kept out.
    const secrets = Object.values(c).flatMap((v) => (typeof v === "string" && v !== kind ? [v] : []));
    return { ok: false, status: null, detail: detailOf(`sending failed: ${String(err)}`, secrets) };
  }
}
