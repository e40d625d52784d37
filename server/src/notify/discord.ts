import { type DiscordConfig, type Notification, renderText } from "../domain/channels.ts";
import { postHttp } from "./http.ts";
import { clip, type DeliveryResult, type SendOptions, urlSecrets } from "./result.ts";
import { USER_AGENT } from "./webhook.ts";

/**
 * 2000: Discord refuses a longer `content` (400). Counted in UTF-16 units, which is never fewer
 * than the characters Discord counts, so a clipped message always fits.
 */
export const DISCORD_MAX_CONTENT = 2000;

/** A webhook execute: `{content}`, with mentions off so a host named `@everyone` pings no one. */
export function sendDiscord(config: DiscordConfig, n: Notification, opts?: SendOptions): Promise<DeliveryResult> {
  const { title, body } = renderText(n);
  const content = clip(`**${title}**\n${body}`, DISCORD_MAX_CONTENT, "\n… (cut: see the fleet's alerts page)");
  return postHttp(
    {
      url: config.webhook_url,
      headers: { "content-type": "application/json", "user-agent": USER_AGENT },
      body: JSON.stringify({ content, allowed_mentions: { parse: [] } }),
      secrets: urlSecrets(config.webhook_url),
    },
    opts,
  );
}
