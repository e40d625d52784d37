import { type Condition, heldConditions, transitions } from "./alert-conditions.ts";
import type { AlertRow, AlertRuleRow, MuteRow, NotificationEvent } from "./alert-rows.ts";
import { isMuted, offlineAfterFor, rulesFor } from "./alert-rules.ts";
import type { AlertItem } from "./channels.ts";
import { createCopyJobsCache } from "./copy-jobs-cache.ts";
import { type CopyHostFacts, type CopyTargetView, copyViewsReader } from "./copy-targets.ts";
import { decodeTimeCursor, encodeTimeCursor } from "./cursor.ts";
import type { DomainContext } from "./deps.ts";
import { DomainError } from "./errors.ts";
import type { HostFactsView, Hosts } from "./hosts.ts";
import type { Labels } from "./labels.ts";
import { itemsBudget, takePage } from "./pages.ts";
import { sharedRepositoryChecks, withRepositoryCheck } from "./repository-wide.ts";
import { newId } from "./tokens.ts";
import type { RepositoryLastCheck } from "./types.ts";

/** A page of GET /alerts when none is asked for, and the most one may hold. */
export const ALERT_PAGE_DEFAULT = 100;
export const ALERT_PAGE_MAX = 1000;

/** GET /alerts's filters, as the route decoded them (DESIGN §8.4). */
export interface AlertListQuery {
  state?: "firing" | "resolved" | undefined;
  host_id?: string | undefined;
  condition?: Condition | undefined;
  /** Every label must match the alert's host, by the selector's rule (selector.ts). */
  labels?: Labels | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export type AlertListItem = AlertItem & { state: AlertRow["state"]; muted: boolean };

/**
 * How long a resolved host_offline alert waits before its resolution is told: a host that comes
 * back and goes again within it reopens the same alert, so a flapping host is one alert, told
 * once, not a message every few minutes.
 */
export const FLAP_WINDOW_S = 600;

/** An alert as the API and the notifications show it. */
export function alertItem(a: AlertRow, host: { name: string; labels: Record<string, string> } | null): AlertItem {
  return {
    id: a.id,
    condition: a.condition,
    host_id: a.host_id,
    host_name: host?.name ?? a.host_id,
    labels: host?.labels ?? {},
    started_at: a.started_at,
    resolved_at: a.resolved_at,
    summary: a.summary,
  };
}

/**
 * The alert lifecycle (DESIGN §8.4): conditions evaluated per host, from the sweep over every
 * host (at least once a minute) and after the events that change a host's facts; an alert fires
 * when its condition starts to hold and resolves when it stops. Each transition is routed, by the
 * rules whose selector matches the host and that watch the condition, to their channels' queues
 * (alert-delivery.ts sends them), unless a mute covers the host.
 */
export function createAlerts(deps: DomainContext, hosts: Hosts) {
  const { store, tx, clock, settings } = deps;
  const copyJobs = createCopyJobsCache(deps);

  interface Context {
    now: Date;
    at: string;
    rules: AlertRuleRow[];
    mutes: MuteRow[];
    /** Shared repositories' last checks: each one's is every host's of it (repository-wide.ts). */
    checks: ReadonlyMap<string, RepositoryLastCheck>;
    /** Each host's copy targets with their health (copy_stale, copy_failed): a few reads per sweep. */
    copies: (host: CopyHostFacts) => CopyTargetView[];
  }
  const context = (hostId?: string): Context => {
    const now = clock.now();
    const at = now.toISOString();
    return {
      now,
      at,
      rules: store.listRules(),
      mutes: store.activeMutes(at),
      checks: sharedRepositoryChecks(store),
      copies:
        hostId === undefined
          ? copyViewsReader(store, now, copyJobs.all)
          : copyViewsReader(store, now, () => new Map([[hostId, copyJobs.of(hostId)]]), hostId),
    };
  };
  const factsOf = (c: Context, host: HostFactsView) => ({
    ...withRepositoryCheck(host, c.checks),
    copies: c.copies(host),
  });

  /**
   * Queues the alert's event for every channel of every rule that watches it; false when a mute
   * covers the host (the caller leaves it to a later sweep). `occurrence` numbers reminders.
   */
  function route(
    c: Context,
    a: AlertRow,
    host: HostFactsView,
    event: NotificationEvent,
    occurrence = 0,
    rules: readonly AlertRuleRow[] = rulesFor(c.rules, host.labels, a.condition),
  ): boolean {
    if (isMuted(c.mutes, host, c.now)) return false;
    for (const rule of rules) {
      for (const channel_id of rule.channel_ids) {
        if (!store.channelById(channel_id)) continue;
        store.enqueueItem({ channel_id, alert_id: a.id, event, occurrence, created_at: c.at });
      }
    }
    return true;
  }

  function fire(c: Context, host: HostFactsView, condition: Condition, summary: string) {
    // A host_offline that comes back within the flap window is the same alert, not a new one.
    if (condition === "host_offline") {
      const since = new Date(c.now.getTime() - FLAP_WINDOW_S * 1000).toISOString();
      const recent = store.recentlyResolved(host.id, condition, since);
      if (recent && store.reopenAlert(recent.id, summary)) return;
    }
    const a: AlertRow = {
      id: newId("alert"),
      host_id: host.id,
      condition,
      state: "firing",
      started_at: c.at,
      resolved_at: null,
      summary,
      notified_at: null,
      resolve_notified_at: null,
    };
    store.insertAlert(a);
    if (route(c, a, host, "alert.firing")) store.setAlertNotified(a.id, c.at);
  }

  function resolve(c: Context, host: HostFactsView, a: AlertRow) {
    store.resolveAlert(a.id, c.at);
    // Never told it fired (muted all along): nothing to tell now either.
    if (a.notified_at === null) store.setAlertResolveNotified(a.id, c.at);
    else if (a.condition !== "host_offline") tellResolved(c, host, { ...a, resolved_at: c.at });
  }

  function tellResolved(c: Context, host: HostFactsView, a: AlertRow) {
    if (route(c, a, host, "alert.resolved")) store.setAlertResolveNotified(a.id, c.at);
  }

  /** Evaluates these hosts (views as the host list builds them) and applies the transitions. */
  function evaluate(c: Context, views: readonly HostFactsView[], firingOf: (id: string) => AlertRow[]) {
    for (const host of views) {
      const held = heldConditions(factsOf(c, host), c.now, offlineAfterFor(c.rules, host.labels));
      const open = firingOf(host.id);
      const { fire: starting, resolve: ending } = transitions(held, open);
      for (const [condition, h] of starting) fire(c, host, condition, h.summary);
      const byId = new Map(open.map((a) => [a.id, a]));
      for (const ref of ending) {
        const a = byId.get(ref.id);
        if (a) resolve(c, host, a);
      }
    }
  }

  /** What a sweep also owes: firings kept back by a mute, flap-held resolutions, reminders. */
  function catchUp(c: Context, views: ReadonlyMap<string, HostFactsView>) {
    const reminders = new Map(c.rules.filter((r) => r.repeat_after_s !== null).map((r) => [r.id, r]));
    for (const a of store.firingAlerts()) {
      const host = views.get(a.host_id);
      if (!host) continue;
      if (a.notified_at === null) {
        if (route(c, a, host, "alert.firing")) store.setAlertNotified(a.id, c.at);
        continue;
      }
      const repeat = rulesFor([...reminders.values()], host.labels, a.condition);
      const every = Math.min(...repeat.map((r) => r.repeat_after_s ?? Number.POSITIVE_INFINITY));
      if (!Number.isFinite(every) || c.now.getTime() - Date.parse(a.notified_at) < every * 1000) continue;
      const occurrence = Math.floor((c.now.getTime() - Date.parse(a.started_at)) / (every * 1000));
      // A reminder goes to the channels of the rules that ask for one, not to every rule's.
      if (route(c, a, host, "alert.firing", occurrence, repeat)) store.setAlertNotified(a.id, c.at);
    }
    const heldSince = c.now.getTime() - FLAP_WINDOW_S * 1000;
    for (const a of store.unnotifiedResolutions()) {
      const host = views.get(a.host_id);
      if (!host || (a.condition === "host_offline" && Date.parse(a.resolved_at ?? c.at) > heldSince)) continue;
      tellResolved(c, host, a);
    }
  }

  return {
    /**
     * Every host, then what earlier sweeps kept back: at least once a minute (server.ts). One
     * transaction, so a crash leaves either all of a sweep's transitions or none.
     */
    sweep(): void {
      const c = context();
      const views = hosts.facts();
      const firing = Map.groupBy(store.firingAlerts(), (a) => a.host_id);
      tx(() => {
        evaluate(c, views, (id) => firing.get(id) ?? []);
        catchUp(c, new Map(views.map((v) => [v.id, v])));
      });
    },

    /** One host, after an event that changes its facts (a job finished). */
    evaluateHost(hostId: string): void {
      const c = context(hostId);
      let view: HostFactsView;
      try {
        view = hosts.show(hostId);
      } catch {
        return; // revoked meanwhile
      }
      const open = store.firingAlertsOfHost(hostId);
      const held = heldConditions(factsOf(c, view), c.now, offlineAfterFor(c.rules, view.labels));
      const { fire: starting, resolve: ending } = transitions(held, open);
      if (starting.length === 0 && ending.length === 0) return; // nothing changes: no write at all
      tx(() => evaluate(c, [view], (id) => store.firingAlertsOfHost(id)));
    },

    /**
     * GET /alerts: newest first by started_at (the id breaks ties), `limit` (1-1000, default 100)
     * per page; `cursor` is the previous page's next_cursor, a (started_at, id) position, so alerts
     * that fire while a client pages on never shift its pages. Each with its host's name and labels
     * (read once per host of the page, not the fleet's) and whether a mute covers it now.
     */
    list(q: AlertListQuery): { items: AlertListItem[]; next_cursor: string | null } {
      const limit = q.limit ?? ALERT_PAGE_DEFAULT;
      if (!Number.isInteger(limit) || limit < 1 || limit > ALERT_PAGE_MAX) {
        throw new DomainError("invalid", `limit must be 1-${ALERT_PAGE_MAX}`, "limit");
      }
      const after = q.cursor ? decodeTimeCursor(q.cursor) : undefined;
      const now = clock.now();
      const mutes = store.activeMutes(now.toISOString());
      const rows = store.listAlerts({
        state: q.state,
        host_id: q.host_id,
        condition: q.condition,
        labels: q.labels,
        limit: limit + 1,
        after: after && { started_at: after.time, id: after.id },
      });
      // The page's hosts in one read (100 reads of one host each were most of a page's time).
      const hostsOf = new Map(store.alertHosts(rows.map((a) => a.host_id)).map((h) => [h.id, h]));
      const listed = rows.map((a) => {
        const host = hostsOf.get(a.host_id) ?? null;
        // Muted now: its notifications wait (a firing one is told when the mute ends).
        return { ...alertItem(a, host), state: a.state, muted: host !== null && isMuted(mutes, host, now) };
      });
      const { items, more } = takePage(listed, limit, itemsBudget(settings.pageBytes));
      const last = items.at(-1);
      return { items, next_cursor: more && last ? encodeTimeCursor(last.started_at, last.id) : null };
    },
  };
}

export type Alerts = ReturnType<typeof createAlerts>;

/**
 * Evaluates a host's alerts after the events that change its facts: a job's end. Deferred to a microtask and coalesced per host, so the publisher (the gateway's batch)
 * is not held up, and ten events of one host make one evaluation.
 */
export function watchForAlerts(deps: Pick<DomainContext, "events" | "log">, alerts: Alerts): void {
  const due = new Set<string>();
  deps.events.subscribe((e) => {
    // A job's end changes what the host's last backup or check says: tell it now, not at the next
    // sweep. Presence needs no event: host_offline holds only after minutes, which the sweep sees
    // (and 10,000 agents reconnecting must not mean 10,000 evaluations).
    const relevant =
      e.type === "job.updated" && (e.status === "succeeded" || e.status === "failed" || e.status === "cancelled");
    if (!relevant || due.has(e.host_id)) return;
    due.add(e.host_id);
    queueMicrotask(() => {
      due.delete(e.host_id);
      try {
        alerts.evaluateHost(e.host_id);
      } catch (err) {
        deps.log.error("alert evaluation failed", { host_id: e.host_id, error: String(err) });
      }
    });
  });
}
