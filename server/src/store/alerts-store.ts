import type {
  AlertFilter,
  AlertRow,
  AlertRuleRow,
  AlertsStore,
  ChannelRow,
  MuteRow,
  NotificationEvent,
  NotificationItemRow,
  NotificationRow,
} from "../domain/alert-rows.ts";
import { type Database, fromJson, params, toJson } from "./db.ts";

type RuleRow = Omit<AlertRuleRow, "selector" | "conditions" | "channel_ids" | "enabled"> & {
  selector: string;
  conditions: string;
  channel_ids: string;
  enabled: number;
};
const toRule = (r: RuleRow): AlertRuleRow => ({
  ...r,
  selector: fromJson(r.selector, {}),
  conditions: fromJson(r.conditions, []),
  channel_ids: fromJson(r.channel_ids, []),
  enabled: r.enabled === 1,
});
const ruleParams = (r: AlertRuleRow) =>
  params({
    ...r,
    selector: JSON.stringify(r.selector),
    conditions: JSON.stringify(r.conditions),
    channel_ids: JSON.stringify(r.channel_ids),
    enabled: r.enabled ? 1 : 0,
  });

type MuteDbRow = Omit<MuteRow, "selector"> & { selector: string | null };
const toMute = (r: MuteDbRow): MuteRow => ({ ...r, selector: fromJson(r.selector, null) });

type ChannelDbRow = Omit<ChannelRow, "config_public"> & { config_public: string };
const toChannel = (r: ChannelDbRow): ChannelRow => ({ ...r, config_public: fromJson(r.config_public, {}) });
const channelParams = (c: ChannelRow) => params({ ...c, config_public: JSON.stringify(c.config_public) });

const alertCols = "id, host_id, condition, state, started_at, resolved_at, summary, notified_at, resolve_notified_at";
const ruleCols =
  "id, name, selector, conditions, channel_ids, offline_after_s, repeat_after_s, enabled, created_at, updated_at";
const channelCols =
  "id, name, kind, config_public, config_enc, created_at, updated_at, last_delivery_at, last_error, last_error_at";
const notificationCols =
  "id, channel_id, event, body, state, attempts, next_attempt_at, created_at, sent_at, last_error";

/**
 * A label on at most this many hosts, with at most SEEK_ALERTS alerts among them, is read host by
 * host (see alertListQuery); else the page walks the time order, checking each alert's host, and
 * finds a page after about limit × (all alerts / the label's) rows. Measured at 10,000 hosts and
 * 200,000 alerts on disk (2 loaded cores, medians): a label on 100 hosts without alerts, 382 ms
 * walked (every alert) against 2.5 ms; on 500 hosts with 10,000 alerts, 2.8 ms walked against 11 ms
 * read host by host (each alert a random read, then a sort). The count itself reads up to
 * SEEK_ALERTS + 1 index entries.
 */
const SEEK_HOSTS = 1000;
const SEEK_ALERTS = 2000;

/**
 * The statement of one alerts page, newest first, and its arguments (the limit last). Exported so
 * a test can read its plan (store/alerts-list-store.test.ts). One statement per filter shape, each
 * on an index that gives the (started_at, id) order, so SQLite seeks the cursor and stops at the
 * page: a deep page costs what a first one does. `seekLabel`: a label whose hosts and alerts are few
 * enough (the store's seekLabel) to read its hosts' alerts through the host index; other labels are
 * checked per alert's host while the page walks the time order.
 */
export function alertListQuery(f: AlertFilter, seekLabel?: string): { sql: string; args: Array<string | number> } {
  const where: string[] = [];
  const args: Array<string | number> = [];
  // One host, or a label's few hosts: read through the host's index by time (with its state, when
  // one is asked: a host's firing alerts among years of resolved ones). "+" keeps SQLite off the
  // condition index, which would walk every host's alerts of that condition for a few hosts' page.
  const seek = seekLabel !== undefined && f.host_id === undefined;
  const byHost = f.host_id !== undefined || seek;
  if (f.host_id !== undefined) {
    where.push("host_id = ?");
    args.push(f.host_id);
  }
  if (f.state !== undefined) {
    where.push("state = ?");
    args.push(f.state);
  }
  if (f.condition !== undefined) {
    where.push(byHost ? "+condition = ?" : "condition = ?");
    args.push(f.condition);
  }
  for (const [key, value] of Object.entries(f.labels ?? {})) {
    where.push(
      seek && key === seekLabel
        ? "host_id IN (SELECT l.host_id FROM host_labels l WHERE l.key = ? AND l.value = ?)"
        : "EXISTS (SELECT 1 FROM host_labels l WHERE l.host_id = alerts.host_id AND l.key = ? AND l.value = ?)",
    );
    args.push(key, value);
  }
  if (f.after) {
    // A row value, so SQLite seeks the index at the cursor (an OR would scan from the top).
    where.push("(started_at, id) < (?, ?)");
    args.push(f.after.started_at, f.after.id);
  }
  // Named for a label's hosts: left to itself SQLite takes alerts_by_host and sorts every alert of
  // those hosts (500 hosts of 200k alerts, in memory: 20 ms a page, against 1.8 ms seeking each
  // host's index from the cursor and reading at most a page from each).
  const index = f.state !== undefined ? "alerts_by_host_state_time" : "alerts_by_host_time";
  const sql = `SELECT ${alertCols} FROM alerts${seek ? ` INDEXED BY ${index}` : ""}
    ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY started_at DESC, id DESC LIMIT ?`;
  return { sql, args: [...args, f.limit] };
}

export function alertsStore(db: Database): AlertsStore {
  // How many hosts carry a label value: kept by triggers (migration 27), one row to read.
  const carrying = db.query<{ n: number }, [string, string]>(
    "SELECT hosts AS n FROM host_label_counts WHERE key = ? AND value = ?",
  );
  /** The label's alerts (of the state, if one is asked), counted up to SEEK_ALERTS + 1 on an index alone. */
  const alertsCarrying = (key: string, value: string, state: string | undefined) =>
    db
      .query<{ n: number }, Array<string | number>>(
        `SELECT count(*) AS n FROM (SELECT 1 FROM alerts
           WHERE host_id IN (SELECT l.host_id FROM host_labels l WHERE l.key = ? AND l.value = ?)
           ${state === undefined ? "" : "AND state = ?"} LIMIT ?)`,
      )
      .get(...(state === undefined ? [key, value] : [key, value, state]), SEEK_ALERTS + 1)?.n ?? 0;
  /**
   * Which label, if any, a page reads host by host: the rarest, when its hosts are few and their
   * alerts few enough that reading them all and sorting costs less than walking the time order
   * until a page of theirs is found (a label whose hosts rarely alert would walk every alert).
   */
  function seekLabel(f: AlertFilter): string | undefined {
    const rarest = Object.entries(f.labels ?? {})
      .map(([key, value]) => ({ key, value, hosts: carrying.get(key, value)?.n ?? 0 }))
      .sort((a, b) => a.hosts - b.hosts)[0];
    if (!rarest || rarest.hosts > SEEK_HOSTS) return undefined;
    return alertsCarrying(rarest.key, rarest.value, f.state) <= SEEK_ALERTS ? rarest.key : undefined;
  }
  const alerts = (where: string, ...args: string[]) =>
    db.query<AlertRow, string[]>(`SELECT ${alertCols} FROM alerts WHERE ${where}`).all(...args);
  return {
    insertAlert(a: AlertRow) {
      db.query(
        `INSERT INTO alerts (${alertCols}) VALUES ($id, $host_id, $condition, $state, $started_at, $resolved_at,
           $summary, $notified_at, $resolve_notified_at)`,
      ).run(params(a));
    },
    alertById: (id) => alerts("id = ?", id)[0] ?? null,
    firingAlerts: () => alerts("state = 'firing' ORDER BY host_id, condition"),
    firingAlertsOfHost: (host_id) => alerts("state = 'firing' AND host_id = ? ORDER BY condition", host_id),
    recentlyResolved: (host_id, condition, since) =>
      alerts(
        "host_id = ? AND condition = ? AND state = 'resolved' AND resolved_at >= ? ORDER BY resolved_at DESC LIMIT 1",
        host_id,
        condition,
        since,
      )[0] ?? null,
    resolveAlert: (id, at) =>
      db.query("UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE id = ? AND state = 'firing'").run(at, id)
        .changes > 0,
    reopenAlert: (id, summary) =>
      db
        .query(
          `UPDATE alerts SET state = 'firing', resolved_at = NULL, summary = ?
           WHERE id = ? AND state = 'resolved' AND resolve_notified_at IS NULL`,
        )
        .run(summary, id).changes > 0,
    setAlertNotified: (id, at) => {
      db.query("UPDATE alerts SET notified_at = ? WHERE id = ?").run(at, id);
    },
    setAlertResolveNotified: (id, at) => {
      db.query("UPDATE alerts SET resolve_notified_at = ? WHERE id = ?").run(at, id);
    },
    unnotifiedResolutions: () => alerts("state = 'resolved' AND resolve_notified_at IS NULL ORDER BY resolved_at, id"),
    listAlerts(f: AlertFilter) {
      const { sql, args } = alertListQuery(f, f.host_id === undefined ? seekLabel(f) : undefined);
      return db.query<AlertRow, Array<string | number>>(sql).all(...args);
    },
    alertHosts: (ids) =>
      db
        .query<{ id: string; name: string; labels: string }, [string]>(
          "SELECT id, name, labels FROM hosts WHERE id IN (SELECT value FROM json_each(?))",
        )
        .all(JSON.stringify([...new Set(ids)]))
        .map((h) => ({ ...h, labels: fromJson(h.labels, {}) })),

    insertRule(r: AlertRuleRow) {
      db.query(
        `INSERT INTO alert_rules (${ruleCols}) VALUES ($id, $name, $selector, $conditions, $channel_ids,
           $offline_after_s, $repeat_after_s, $enabled, $created_at, $updated_at)`,
      ).run(ruleParams(r));
    },
    updateRule(r: AlertRuleRow) {
      db.query(
        `UPDATE alert_rules SET name = $name, selector = $selector, conditions = $conditions,
           channel_ids = $channel_ids, offline_after_s = $offline_after_s, repeat_after_s = $repeat_after_s,
           enabled = $enabled, updated_at = $updated_at WHERE id = $id`,
      ).run(ruleParams(r));
    },
    deleteRule: (id) => db.query("DELETE FROM alert_rules WHERE id = ?").run(id).changes > 0,
    ruleById(id) {
      const r = db.query<RuleRow, [string]>(`SELECT ${ruleCols} FROM alert_rules WHERE id = ?`).get(id);
      return r ? toRule(r) : null;
    },
    ruleByName(name) {
      const r = db.query<RuleRow, [string]>(`SELECT ${ruleCols} FROM alert_rules WHERE name = ?`).get(name);
      return r ? toRule(r) : null;
    },
    listRules: () => db.query<RuleRow, []>(`SELECT ${ruleCols} FROM alert_rules ORDER BY name, id`).all().map(toRule),

    insertMute(m: MuteRow) {
      db.query(
        `INSERT INTO mutes (id, host_id, selector, until, reason, created_by, created_at)
         VALUES ($id, $host_id, $selector, $until, $reason, $created_by, $created_at)`,
      ).run(params({ ...m, selector: toJson(m.selector) }));
    },
    deleteMute: (id) => db.query("DELETE FROM mutes WHERE id = ?").run(id).changes > 0,
    activeMutes: (at) =>
      db
        .query<MuteDbRow, [string]>("SELECT * FROM mutes WHERE until > ? ORDER BY created_at DESC, id DESC")
        .all(at)
        .map(toMute),
    listMutes: () => db.query<MuteDbRow, []>("SELECT * FROM mutes ORDER BY created_at DESC, id DESC").all().map(toMute),

    insertChannel(c: ChannelRow) {
      db.query(
        `INSERT INTO notification_channels (${channelCols}) VALUES ($id, $name, $kind, $config_public, $config_enc,
           $created_at, $updated_at, $last_delivery_at, $last_error, $last_error_at)`,
      ).run(channelParams(c));
    },
    updateChannel(c: ChannelRow) {
      db.query(
        `UPDATE notification_channels SET name = $name, kind = $kind, config_public = $config_public,
           config_enc = $config_enc, updated_at = $updated_at WHERE id = $id`,
      ).run(channelParams(c));
    },
    deleteChannel: (id) => db.query("DELETE FROM notification_channels WHERE id = ?").run(id).changes > 0,
    channelById(id) {
      const r = db
        .query<ChannelDbRow, [string]>(`SELECT ${channelCols} FROM notification_channels WHERE id = ?`)
        .get(id);
      return r ? toChannel(r) : null;
    },
    channelByName(name) {
      const r = db
        .query<ChannelDbRow, [string]>(`SELECT ${channelCols} FROM notification_channels WHERE name = ?`)
        .get(name);
      return r ? toChannel(r) : null;
    },
    listChannels: () =>
      db
        .query<ChannelDbRow, []>(`SELECT ${channelCols} FROM notification_channels ORDER BY name, id`)
        .all()
        .map(toChannel),
    rulesUsingChannel: (channel_id) =>
      db
        .query<{ name: string }, [string]>(
          `SELECT name FROM alert_rules WHERE EXISTS (SELECT 1 FROM json_each(channel_ids) WHERE value = ?)
           ORDER BY name`,
        )
        .all(channel_id)
        .map((r) => r.name),
    setChannelDelivered: (id, at) => {
      db.query("UPDATE notification_channels SET last_delivery_at = ? WHERE id = ?").run(at, id);
    },
    setChannelError: (id, at, error) => {
      db.query("UPDATE notification_channels SET last_error = ?, last_error_at = ? WHERE id = ?").run(error, at, id);
    },

    enqueueItem: (i: NotificationItemRow) =>
      db
        .query(
          `INSERT INTO notification_items (channel_id, alert_id, event, occurrence, created_at)
           VALUES ($channel_id, $alert_id, $event, $occurrence, $created_at) ON CONFLICT DO NOTHING`,
        )
        .run(params(i)).changes > 0,
    channelsWithItemsBefore: (before) =>
      db
        .query<{ channel_id: string; event: NotificationEvent }, [string]>(
          `SELECT channel_id, event FROM notification_items WHERE notification_id IS NULL
           GROUP BY channel_id, event HAVING min(created_at) <= ? ORDER BY channel_id, event`,
        )
        .all(before),
    takeItems: (channel_id, event, notification_id) =>
      db
        .query<NotificationItemRow, [string, string, string]>(
          `UPDATE notification_items SET notification_id = ? WHERE channel_id = ? AND event = ? AND notification_id IS NULL
           RETURNING channel_id, alert_id, event, occurrence, created_at`,
        )
        .all(notification_id, channel_id, event)
        .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.alert_id.localeCompare(b.alert_id)),
    insertNotification(n: NotificationRow) {
      db.query(
        `INSERT INTO notifications (${notificationCols}) VALUES ($id, $channel_id, $event, $body, $state, $attempts,
           $next_attempt_at, $created_at, $sent_at, $last_error)`,
      ).run(params(n));
    },
    dueNotifications: (at, limit) =>
      db
        .query<NotificationRow, [string, number]>(
          `SELECT ${notificationCols} FROM notifications WHERE state = 'pending' AND next_attempt_at <= ?
           ORDER BY next_attempt_at, created_at, id LIMIT ?`,
        )
        .all(at, limit),
    notificationsOfChannel: (channel_id, limit) =>
      db
        .query<NotificationRow, [string, number]>(
          `SELECT ${notificationCols} FROM notifications WHERE channel_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
        )
        .all(channel_id, limit),
    markNotificationSent: (id, at) =>
      db
        .query(
          "UPDATE notifications SET state = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ? AND state = 'pending'",
        )
        .run(at, id).changes > 0,
    markNotificationRetry: (id, attempts, next_attempt_at, error) => {
      db.query("UPDATE notifications SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?").run(
        attempts,
        next_attempt_at,
        error,
        id,
      );
    },
    markNotificationFailed: (id, error) => {
      db.query("UPDATE notifications SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?").run(
        error,
        id,
      );
    },
  };
}
