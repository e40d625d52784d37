import { ApiFailure, api } from "../api.ts";
import type { View } from "../context.ts";
import { clear, h } from "../dom.ts";
import type { AlertRule, Channel, Delivery, DeliveryResult, List } from "../types.ts";
import { ago, badge, emptyState, errorBox } from "../widgets.ts";
import { rulesSection } from "./alert-rules.ts";
import { channelForm, configText, KIND_FIELDS } from "./channel-form.ts";

/** What a test send came to: the receiver's status and words, or why nothing answered. */
function testResult(c: Channel, r: DeliveryResult) {
  return h(
    "div",
    { class: r.ok ? "ok-text test-result" : "error test-result", role: "status", "data-test-result": c.id },
    h("strong", {}, r.ok ? `✓ ${c.name}: the receiver accepted the test` : `✗ ${c.name}: the test was refused`),
    r.status === null ? " (no answer)" : ` (${c.kind === "email" ? "SMTP" : "HTTP"} ${r.status})`,
    r.detail ? h("span", { class: "block" }, "It said: ", h("code", {}, r.detail)) : null,
  );
}

function deliveryLog(c: Channel, items: Delivery[], close: () => void) {
  return h(
    "section",
    { class: "card deliveries", "aria-labelledby": "dl-h" },
    h(
      "div",
      { class: "page-head" },
      h("h2", { id: "dl-h" }, `Deliveries of ${c.name}`),
      h("button", { type: "button", class: "secondary", onclick: close }, "Hide"),
    ),
    items.length === 0
      ? h(
          "p",
          { class: "muted" },
          "Nothing sent yet: tests are sent at once and are not queued, so they do not show here.",
        )
      : h(
          "table",
          {},
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ...["Event", "State", "Hosts", "Queued", "Sent", "Attempts", "Last error"].map((t) =>
                h("th", { scope: "col" }, t),
              ),
            ),
          ),
          h(
            "tbody",
            {},
            items.map((d) =>
              h(
                "tr",
                { "data-delivery": d.id },
                h("th", { scope: "row" }, d.event),
                h("td", { "data-label": "State" }, badge(d.state === "sent" ? "succeeded" : d.state)),
                h("td", { "data-label": "Hosts", class: "wrap" }, d.hosts.join(", ") || "–"),
                h("td", { "data-label": "Queued" }, ago(d.created_at)),
                h(
                  "td",
                  { "data-label": "Sent" },
                  d.sent_at ? ago(d.sent_at) : d.next_attempt_at ? ["next try ", ago(d.next_attempt_at)] : "–",
                ),
                h("td", { "data-label": "Attempts" }, String(d.attempts)),
                h("td", { "data-label": "Last error", class: "wrap" }, d.last_error ?? "–"),
              ),
            ),
          ),
        ),
  );
}

/** #/channels: notification channels (test, delivery log, edit, delete) and the alert rules that use them. */
export const channelsView: View = async (root, ctx) => {
  const table = h("div", {});
  const notice = h("div", { "aria-live": "polite" });
  const editor = h("div", {});
  const rulesBox = h("div", {});
  let channels: Channel[] = [];
  let rules: AlertRule[] = [];

  const fail = (err: unknown) => {
    clear(notice);
    notice.append(errorBox(err instanceof ApiFailure ? err.error.message : String(err)));
  };
  const openForm = (c: Channel | null) => {
    clear(editor);
    clear(notice);
    editor.append(
      channelForm(c, async (changed) => {
        clear(editor);
        if (changed) await refresh();
      }),
    );
    editor.querySelector<HTMLElement>("input")?.focus();
  };

  const refresh = async () => {
    [channels, rules] = await Promise.all([
      api<List<Channel>>("/notification-channels").then((x) => x.items),
      api<List<AlertRule>>("/alert-rules").then((x) => x.items),
    ]);
    renderChannels();
    clear(rulesBox);
    rulesBox.append(rulesSection(ctx, rules, channels, refresh));
  };

  const button = (text: string, cls: string, onclick: () => Promise<void> | void) =>
    h("button", { type: "button", class: cls, onclick: () => void onclick() }, text);

  const renderChannels = () => {
    clear(table);
    if (channels.length === 0) {
      table.append(
        emptyState(
          "No channels yet: a channel is where alerts are sent (a webhook, ntfy, Slack, Discord or e-mail).",
          ctx.isAdmin
            ? h("button", { type: "button", onclick: () => openForm(null) }, "Create the first channel")
            : null,
        ),
      );
      return;
    }
    table.append(
      h(
        "table",
        { class: "channels" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["Channel", "Kind", "Sends to", "Last delivery", "Last error", ""].map((t) =>
              h("th", { scope: "col" }, t),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          channels.map((c) => {
            const failing = c.last_error_at !== null && (c.last_delivery_at ?? "") < c.last_error_at;
            return h(
              "tr",
              { "data-channel": c.id, class: failing ? "row-conflict" : undefined },
              h("th", { scope: "row" }, c.name),
              h("td", { "data-label": "Kind", title: KIND_FIELDS[c.kind].label }, c.kind),
              h("td", { "data-label": "Sends to", class: "wrap" }, configText(c)),
              h("td", { "data-label": "Last delivery" }, ago(c.last_delivery_at)),
              h(
                "td",
                { "data-label": "Last error", class: "wrap" },
                c.last_error ? [h("span", { class: "bad-text" }, c.last_error), " ", ago(c.last_error_at)] : "–",
              ),
              h(
                "td",
                { class: "actions" },
                ctx.isAdmin
                  ? button("Send test", "secondary", async () => {
                      clear(notice);
                      notice.append(h("p", { class: "muted", role: "status" }, `Sending a test to ${c.name}…`));
                      try {
                        const r = await api<DeliveryResult>(`/notification-channels/${c.id}/test`, "POST");
                        await refresh();
                        clear(notice);
                        notice.append(testResult(c, r));
                      } catch (err) {
                        fail(err);
                      }
                    })
                  : null,
                button("Deliveries", "secondary", async () => {
                  try {
                    const log = await api<List<Delivery>>(`/notification-channels/${c.id}/deliveries`);
                    clear(editor);
                    editor.append(deliveryLog(c, log.items, () => clear(editor)));
                    editor.scrollIntoView({ block: "nearest" });
                  } catch (err) {
                    fail(err);
                  }
                }),
                ctx.isAdmin
                  ? [
                      button("Edit", "secondary", () => openForm(c)),
                      button("Delete", "danger", async () => {
                        if (!confirm(`Delete the channel ${c.name}? Messages waiting for it are dropped.`)) return;
                        try {
                          await api(`/notification-channels/${c.id}`, "DELETE");
                          clear(notice);
                          await refresh();
                        } catch (err) {
                          fail(err);
                        }
                      }),
                    ]
                  : null,
              ),
            );
          }),
        ),
      ),
    );
  };

  await refresh();
  root.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", { tabindex: "-1" }, "Channels and rules"),
      ctx.isAdmin ? h("button", { type: "button", onclick: () => openForm(null) }, "New channel") : null,
    ),
    h(
      "p",
      { class: "muted" },
      "Channels are where alerts go; rules say which hosts' alerts go to which channels. ",
      h("a", { href: "#/alerts" }, "See the alerts"),
      ".",
    ),
    h("h2", {}, "Channels"),
    notice,
    table,
    editor,
    rulesBox,
  );
};
