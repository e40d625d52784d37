import type { NotificationRow } from "./alert-rows.ts";
import { alertItem } from "./alerts.ts";
import type { ChannelConfig, DeliveryResult, Notification } from "./channels.ts";
import type { DomainContext } from "./deps.ts";
import type { NotificationSender } from "./notify-link.ts";
import { newId } from "./tokens.ts";

/** Retries of a receiver that fails: 10 s, 30 s, 1 min, 2 min, 5 min, then every 15 min. */
const BACKOFF_S = [10, 30, 60, 120, 300, 900];
/** A notification the receiver refused for a day is given up (and shown as failed). */
const GIVE_UP_AFTER_S = 86_400;

/**
 * Durable delivery: queued items become messages (one per channel and event, naming every host
 * of the batch) in the transaction that takes them, and a message waits in the database until
 * its receiver accepts it, retried with backoff, across restarts. A message is marked sent only
 * after the receiver said yes, so a crash in between sends it again (its `notification_id` lets a
 * receiver drop the repeat); nothing else ever sends one twice.
 */
export function createAlertDelivery(deps: DomainContext, sender: () => NotificationSender | null) {
  const { store, tx, clock, secrets, log, settings } = deps;
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;

  /**
   * Turns every channel's items into messages once the oldest has waited the batch window
   * (settings.alertBatchSeconds, 30 s by default): alerts that fire within it for one channel
   * go out as one message.
   */
  function batch(): number {
    const now = clock.now();
    const at = now.toISOString();
    const before = new Date(now.getTime() - settings.alertBatchSeconds * 1000).toISOString();
    return tx(() => {
      let made = 0;
      for (const { channel_id, event } of store.channelsWithItemsBefore(before)) {
        const id = newId("ntf");
        const items = store.takeItems(channel_id, event, id);
        const rows = items.map((i) => store.alertById(i.alert_id)).filter((a) => a !== null);
        const hosts = new Map(store.hostsByIds([...new Set(rows.map((a) => a.host_id))]).map((h) => [h.id, h]));
        const alerts = rows.map((a) => alertItem(a, hosts.get(a.host_id) ?? null));
        if (alerts.length === 0) continue;
        const body: Notification & { notification_id: string } = { event, alerts, sent_at: at, notification_id: id };
        store.insertNotification({
          id,
          channel_id,
          event,
          body: JSON.stringify(body),
          state: "pending",
          attempts: 0,
          next_attempt_at: at,
          created_at: at,
          sent_at: null,
          last_error: null,
        });
        made += 1;
      }
      return made;
    });
  }

  async function sendOne(n: NotificationRow, via: NotificationSender): Promise<void> {
    const channel = store.channelById(n.channel_id);
    if (!channel) return; // deleted meanwhile: its messages went with it
    const config = JSON.parse(secrets.open(channel.config_enc)) as ChannelConfig;
    let result: DeliveryResult;
    try {
      result = await via.send(channel.kind, config, JSON.parse(n.body) as Notification);
    } catch (err) {
      result = { ok: false, status: null, detail: err instanceof Error ? err.message : String(err) };
    }
    const at = clock.now().toISOString();
    tx(() => {
      if (result.ok) {
        store.markNotificationSent(n.id, at);
        store.setChannelDelivered(channel.id, at);
        return;
      }
      const error = result.status === null ? result.detail : `HTTP ${result.status}: ${result.detail}`;
      store.setChannelError(channel.id, at, error);
      const attempts = n.attempts + 1;
      if (Date.parse(at) - Date.parse(n.created_at) >= GIVE_UP_AFTER_S * 1000) {
        store.markNotificationFailed(n.id, error);
        log.warn("notification given up after a day of failures", { channel_id: channel.id, notification_id: n.id });
        return;
      }
      const wait = BACKOFF_S[Math.min(attempts - 1, BACKOFF_S.length - 1)] ?? 900;
      store.markNotificationRetry(n.id, attempts, new Date(Date.parse(at) + wait * 1000).toISOString(), error);
    });
  }

  /** One pass: batch, then send what is due, one message at a time per pass. */
  async function deliverOnce(): Promise<void> {
    batch();
    const via = sender();
    if (!via) return;
    for (const n of store.dueNotifications(clock.now().toISOString(), 100)) await sendOne(n, via);
  }

  return {
    batch,
    /**
     * Batches and sends what is due. Passes never overlap: a call while one runs waits for it,
     * then gets a pass of its own (shared by every call made meanwhile), so what was queued
     * before the call is always looked at.
     */
    deliver(): Promise<void> {
      if (!running) {
        running = deliverOnce().finally(() => {
          running = null;
        });
        return running;
      }
      next ??= running.then(() => {
        next = null;
        return this.deliver();
      });
      return next;
    },
    /** The channel's latest messages, newest first: its delivery log. */
    log(channelId: string, limit = 50) {
      return store.notificationsOfChannel(channelId, Math.min(Math.max(limit, 1), 500)).map((n) => ({
        id: n.id,
        event: n.event,
        state: n.state,
        attempts: n.attempts,
        created_at: n.created_at,
        sent_at: n.sent_at,
        next_attempt_at: n.state === "pending" ? n.next_attempt_at : null,
        last_error: n.last_error,
        hosts: (JSON.parse(n.body) as Notification).alerts.map((a) => a.host_name),
      }));
    },
  };
}

export type AlertDelivery = ReturnType<typeof createAlertDelivery>;
