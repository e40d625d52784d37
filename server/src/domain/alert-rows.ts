import type { Condition } from "./alert-conditions.ts";
import type { ChannelKind } from "./channels.ts";
import type { Selector } from "./selector.ts";

/** An alert rule as stored: which hosts, which conditions, which channels (DESIGN §8.4). */
export interface AlertRuleRow {
  id: string;
  name: string;
  selector: Selector;
  conditions: Condition[];
  channel_ids: string[];
  /** Seconds a host must be offline before host_offline holds for it. */
  offline_after_s: number;
  /** Seconds between reminders while an alert keeps firing; null: none. */
  repeat_after_s: number | null;
  enabled: boolean;
  created_at: string;
  updated_at: string;
}

/** A mute: no notifications for a host, or for the hosts a selector matches, until a time. */
export interface MuteRow {
  id: string;
  host_id: string | null;
  selector: Selector | null;
  until: string;
  reason: string;
  created_by: string;
  created_at: string;
}

/** An alert: a condition that held for a host, from `started_at` until `resolved_at`. */
export interface AlertRow {
  id: string;
  host_id: string;
  condition: Condition;
  state: "firing" | "resolved";
  started_at: string;
  resolved_at: string | null;
  summary: string;
  /** When its firing (or last reminder) was queued for its channels; null while not yet (muted). */
  notified_at: string | null;
  /** When its resolution was queued; null until then (host_offline waits out the flap window first). */
  resolve_notified_at: string | null;
}

/** A notification channel as stored: what the API may show, and the whole config sealed. */
export interface ChannelRow {
  id: string;
  name: string;
  kind: ChannelKind;
  /** The config without its secrets (channels.ts publicConfig). */
  config_public: Record<string, unknown>;
  /** The whole config, JSON, sealed (domain/secrets.ts). */
  config_enc: string;
  created_at: string;
  updated_at: string;
  last_delivery_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
}

export type NotificationEvent = "alert.firing" | "alert.resolved";

/** One alert's event waiting to be put into a channel's next message. */
export interface NotificationItemRow {
  channel_id: string;
  alert_id: string;
  event: NotificationEvent;
  /** 0 for the firing or resolution itself; n for the n-th reminder (repeat_after). */
  occurrence: number;
  created_at: string;
}

/** A message to one channel, waiting in the database until the receiver takes it. */
export interface NotificationRow {
  id: string;
  channel_id: string;
  event: NotificationEvent | "test";
  /** The webhook body (channels.ts Notification), JSON. */
  body: string;
  state: "pending" | "sent" | "failed";
  attempts: number;
  next_attempt_at: string;
  created_at: string;
  sent_at: string | null;
  last_error: string | null;
}

/** GET /alerts's filters, for one page (store/alerts-store.ts alertListQuery). */
export interface AlertFilter {
  state?: "firing" | "resolved" | undefined;
  host_id?: string | undefined;
  condition?: Condition | undefined;
  /** Every label must match the alert's host (as GET /hosts?label=); `{}` matches every host. */
  labels?: Readonly<Record<string, string>> | undefined;
  limit: number;
  /** Exclusive bound in (started_at DESC, id DESC) order. */
  after?: { started_at: string; id: string } | undefined;
}

/** Alerts, their rules, mutes, channels and the durable notification queue. */
export interface AlertsStore {
  insertAlert(a: AlertRow): void;
  alertById(id: string): AlertRow | null;
  /** Every firing alert, for the sweep. */
  firingAlerts(): AlertRow[];
  firingAlertsOfHost(host_id: string): AlertRow[];
  /** The host's latest resolved alert of the condition resolved at or after `since`: a flap. */
  recentlyResolved(host_id: string, condition: Condition, since: string): AlertRow | null;
  resolveAlert(id: string, at: string): boolean;
  /** Back to firing (a flap within the window): its resolution was not yet told. */
  reopenAlert(id: string, summary: string): boolean;
  setAlertNotified(id: string, at: string): void;
  setAlertResolveNotified(id: string, at: string): void;
  /** Resolved alerts whose resolution has not been queued yet. */
  unnotifiedResolutions(): AlertRow[];
  listAlerts(f: AlertFilter): AlertRow[];
  /** These hosts' names and labels (a page of alerts'), in one read. */
  alertHosts(ids: readonly string[]): Array<{ id: string; name: string; labels: Record<string, string> }>;

  insertRule(r: AlertRuleRow): void;
  updateRule(r: AlertRuleRow): void;
  deleteRule(id: string): boolean;
  ruleById(id: string): AlertRuleRow | null;
  ruleByName(name: string): AlertRuleRow | null;
  listRules(): AlertRuleRow[];

  insertMute(m: MuteRow): void;
  deleteMute(id: string): boolean;
  /** Mutes whose `until` is after `at`, newest first. */
  activeMutes(at: string): MuteRow[];
  listMutes(): MuteRow[];

  insertChannel(c: ChannelRow): void;
  updateChannel(c: ChannelRow): void;
  deleteChannel(id: string): boolean;
  channelById(id: string): ChannelRow | null;
  channelByName(name: string): ChannelRow | null;
  listChannels(): ChannelRow[];
  /** Rules naming the channel, by name: what keeps it from being deleted. */
  rulesUsingChannel(channel_id: string): string[];
  setChannelDelivered(id: string, at: string): void;
  setChannelError(id: string, at: string, error: string): void;

  /** Queues an item; false when that (channel, alert, event, occurrence) was queued already. */
  enqueueItem(i: NotificationItemRow): boolean;
  /** (channel, event) pairs whose oldest waiting item was queued at or before `before`. */
  channelsWithItemsBefore(before: string): { channel_id: string; event: NotificationEvent }[];
  /** Puts a channel's waiting items of one event into the notification; returns them oldest first. */
  takeItems(channel_id: string, event: NotificationEvent, notification_id: string): NotificationItemRow[];
  insertNotification(n: NotificationRow): void;
  /** Pending notifications due at `at`, oldest first. */
  dueNotifications(at: string, limit: number): NotificationRow[];
  notificationsOfChannel(channel_id: string, limit: number): NotificationRow[];
  markNotificationSent(id: string, at: string): boolean;
  markNotificationRetry(id: string, attempts: number, next_attempt_at: string, error: string): void;
  markNotificationFailed(id: string, error: string): void;
}
