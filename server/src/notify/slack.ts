import { type Notification, renderText, type SlackConfig } from "../domain/channels.ts";
import { postHttp } from "./http.ts";
import { clip, type DeliveryResult, type SendOptions, urlSecrets } from "./result.ts";
import { USER_AGENT } from "./webhook.ts";

/** 4000 characters: Slack's advice for `text` (it truncates at 40 000, but long messages fold badly). */
export const SLACK_MAX_TEXT = 4000;

/** Slack's mrkdwn reads `&`, `<` and `>` as markup: a host name must not become a link or a mention. */
const escapeMrkdwn = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** An incoming webhook: `{text}`, the title in bold, then the body. */
export function sendSlack(config: SlackConfig, n: Notification, opts?: SendOptions): Promise<DeliveryResult> {
  const { title, body } = renderText(n);
  const text = clip(
    `*${escapeMrkdwn(title)}*\n${escapeMrkdwn(body)}`,
    SLACK_MAX_TEXT,
    "\n… (cut: see the fleet's alerts page)",
  );
  return postHttp(
    {
      url: config.webhook_url,
      headers: { "content-type": "application/json", "user-agent": USER_AGENT },
      body: JSON.stringify({ text }),
      secrets: urlSecrets(config.webhook_url),
    },
    opts,
  );
}
