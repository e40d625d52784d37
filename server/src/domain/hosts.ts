import { audit } from "./audit.ts";
import { expectedInterval, expectedIntervals } from "./backup-health.ts";
import {
  type CopyTargetInput,
  checkCopyTargets,
  copyTargetsOf,
  copyTargetViews,
  lastCopiesByHost,
} from "./copy-targets.ts";
import type { Actor, DomainContext } from "./deps.ts";
import { notFound } from "./errors.ts";
import { fleetSummary } from "./fleet-summary.ts";
import { checkHostLimit, decodeHostCursor, encodeHostCursor, type HostListQuery, healthRanks } from "./host-list.ts";
import type { HostPush } from "./host-push.ts";
import { healthOf, hostView, withoutUserinfo } from "./host-view.ts";
import { checkLabels, type Labels } from "./labels.ts";
import { checkMaxOfflineAge, effectiveMaxOfflineAge } from "./offline-age.ts";
import { requireAdmin } from "./permissions.ts";
import type { Recompute } from "./policy-sync.ts";
import { matches, type Selector } from "./selector.ts";
import { type SnapshotPageQuery, snapshotPage } from "./snapshot-page.ts";
import type { Host, HostSummary } from "./types.ts";

export interface ConfigInput {
  repo_url?: string | undefined;
  repo_password?: string | undefined;
  repo_username?: string | undefined;
  repo_credential?: string | undefined;
  hook_shell?: string | undefined;
}

/**
 * What a config change's audit entry says: the fields set, and the values that are not secrets:
 * the repository URL (without any password in it) and the one before it, the user name and the
 * hook shell. Passwords and credentials appear by field name only.
 */
function configDetail(input: ConfigInput, oldUrl: string | null): Record<string, unknown> {
  const fields = (Object.keys(input) as Array<keyof ConfigInput>).filter((k) => input[k] !== undefined);
  const detail: Record<string, unknown> = { fields };
  const plain = (v: string) => v || null;
  if (input.repo_url !== undefined) {
    detail.repo_url = input.repo_url ? withoutUserinfo(input.repo_url) : null;
    detail.previous_repo_url = oldUrl ? withoutUserinfo(oldUrl) : null;
  }
  if (input.repo_username !== undefined) detail.repo_username = plain(input.repo_username);
  if (input.hook_shell !== undefined) detail.hook_shell = plain(input.hook_shell);
  return detail;
}

export function createHosts(deps: DomainContext, recompute: Recompute, push: HostPush) {
  const { store, tx, clock, agents, secrets, events } = deps;

  const linkOf = (id: string) => ({ connected: agents.isConnected(id), secure: agents.isSecure(id) });

  /** One host as the API shows it (see host-view.ts): its row and facts from one statement. */
  function show(id: string) {
    const row = store.hostSummary(id);
    if (!row) throw notFound(`host ${id}`);
    const now = clock.now();
    const interval = expectedInterval(store.schedulesForHost(id), now, row.host.timezone);
    const offlineAge = effectiveMaxOfflineAge(row.host, store.listPolicies());
    return hostView(row.host, row.summary, interval, linkOf(id), now, offlineAge);
  }

  /**
   * The host's copy targets with their state (copy-targets.ts): its own page only, since it reads
   * the host's copy jobs (the list stays two statements for the whole fleet; the alert sweep reads
   * every host's in one more: copyViewsReader).
   */
  function copyTargets(id: string) {
    const row = store.hostSummary(id);
    if (!row) throw notFound(`host ${id}`);
    const now = clock.now();
    const interval = expectedInterval(store.schedulesForHost(id), now, row.host.timezone);
    return copyTargetViews(
      copyTargetsOf(store, row.host),
      lastCopiesByHost(store.lastCopyJobs(id)).get(id) ?? new Map(),
      (repositoryId) => store.repositoryById(repositoryId)?.name ?? null,
      {
        now,
        protocolVersion: row.host.protocol_version,
        lastBackupSuccessAt: row.summary.last_successful_backup_at,
        intervalS: interval,
        timezone: row.host.timezone,
      },
    );
  }

  /**
   * Every host the selector matches (all by default), from two statements whatever the fleet's
   * size: the hosts with their facts, and the enabled backup schedules (10,000 hosts, 1.9M jobs:
   * see migration 4).
   */
  /**
   * Every host's expected interval, recomputed only when a schedule or a host's zone changed
   * (store.cadenceGeneration) or the UTC day did (a DST change moves intervals: backup-health.ts).
   */
  let cadences: { generation: number; day: string; intervals: Map<string, number> } | null = null;
  function intervalsAt(now: Date): Map<string, number> {
    const generation = store.cadenceGeneration();
    const day = now.toISOString().slice(0, 10);
    if (cadences?.generation !== generation || cadences.day !== day) {
      const intervals = expectedIntervals(store.backupCadences(), now);
      // The same intervals in the hosts rows, for the list's health filter and counters in SQL.
      store.syncExpectedIntervals(intervals, cadences?.intervals);
      cadences = { generation, day, intervals };
    }
    return cadences.intervals;
  }

  /**
   * One page of GET /hosts (DESIGN §8.8): filtered, sorted and cut in SQL, so a page 90% deep
   * into 50,000 hosts costs what the first does; only the page's hosts become views.
   */
  function page(q: HostListQuery) {
    const sort = q.sort ?? "name";
    const limit = checkHostLimit(q.limit);
    const after = q.cursor === undefined ? undefined : decodeHostCursor(q.cursor, sort);
    const now = clock.now();
    const intervals = intervalsAt(now);
    const rows = store.hostPage({
      labels: q.labels,
      withoutLabels: q.withoutLabels,
      drill: q.drill,
      healthRanks: q.health === undefined ? undefined : healthRanks(q.health),
      online: q.online,
      nameContains: q.q,
      sort,
      after,
      limit: limit + 1,
      nowMs: now.getTime(),
    });
    const policies = rows.length > 0 ? store.listPolicies() : [];
    const items = rows.slice(0, limit).map(viewAt(now, intervals, policies));
    const last = rows[limit - 1];
    return { items, next_cursor: rows.length > limit && last ? encodeHostCursor(sort, last.keys) : null };
  }

  /** A store row as the API shows it, at `now` (the list and a page build their views alike). */
  const viewAt =
    (now: Date, intervals: Map<string, number>, policies: ReturnType<typeof store.listPolicies>) =>
    ({ host, summary }: { host: Host; summary: HostSummary }) =>
      hostView(
        host,
        summary,
        intervals.get(host.id) ?? null,
        linkOf(host.id),
        now,
        effectiveMaxOfflineAge(host, policies),
      );

  function list(selector: Selector = {}) {
    const now = clock.now();
    const intervals = intervalsAt(now);
    const policies = store.listPolicies();
    return store
      .hostSummaries()
      .filter(({ host }) => matches(selector, host.labels))
      .map(viewAt(now, intervals, policies));
  }

  function get(id: string): Host {
    const h = store.hostById(id);
    if (!h) throw notFound(`host ${id}`);
    return h;
  }

  return {
    /**
     * What the alert sweep needs of every host, from one lean statement (no repository settings,
     * no views): its facts, expected interval and backup health by the list's own rule (healthOf).
     */
    facts() {
      const now = clock.now();
      const intervals = intervalsAt(now);
      return store.hostFacts().map(({ host, summary }) => {
        const interval = intervals.get(host.id) ?? null;
        return {
          ...host,
          ...summary,
          expected_interval_s: interval,
          backup_health: healthOf(host, summary, interval, now),
        };
      });
    },
    /** `h` as stored now. */
    view: (h: Host) => show(h.id),
    get,
    /** What the host is sent in config.update (host-push.ts); null while its policies conflict. */
    configPayload: push.configPayload,
    list,
    copyTargets,
    page,
    /** The dashboard's counters over the hosts the selector matches, from two aggregate reads. */
    summary(selector: Selector = {}, withoutLabels: readonly string[] = []) {
      const now = clock.now();
      intervalsAt(now);
      return fleetSummary(store.hostCounts({ labels: selector.labels, withoutLabels, nowMs: now.getTime() }));
    },
    show,
    /** The host's own snapshots, as its agent last reported them: a page, newest first. */
    snapshots(id: string, q: SnapshotPageQuery = {}) {
      get(id);
      return snapshotPage(store, deps.settings.pageBytes, id, q);
    },
    /** Repository statistics over time, newest first, at most 1,000. */
    repoStats(id: string, limit: number) {
      get(id);
      return store.repoStatsForHost(id, Math.min(Math.max(limit, 1), 1000));
    },
    /**
     * An admin's change to a host: its display name, its labels (the whole map, replaced), its copy
     * targets, its own max_offline_age (null clears it). The audit entry holds each changed field
     * before and after.
     */
    update(
      actor: Actor,
      id: string,
      change: {
        name?: string | undefined;
        labels?: Labels | undefined;
        copy_targets?: CopyTargetInput[] | undefined;
        max_offline_age?: string | null | undefined;
      },
    ) {
      requireAdmin(actor, "changing a host");
      const offlineAge = change.max_offline_age === undefined ? undefined : checkMaxOfflineAge(change.max_offline_age);
      const labels = change.labels === undefined ? undefined : checkLabels(change.labels);
      const targets = change.copy_targets === undefined ? undefined : checkCopyTargets(store, change.copy_targets);
      let copiesChanged = false;
      const plan = tx(() => {
        const before = get(id);
        const detail: Record<string, unknown> = {};
        const oldTargets = store.hostCopyTargets(id);
        if (targets !== undefined && JSON.stringify(targets) !== JSON.stringify(oldTargets)) {
          store.setHostCopyTargets(id, targets);
          detail.copy_targets = { before: oldTargets, after: targets };
        }
        if (offlineAge !== undefined && offlineAge !== before.max_offline_age) {
          store.setHostMaxOfflineAge(id, offlineAge);
          detail.max_offline_age = { before: before.max_offline_age, after: offlineAge };
        }
        // Both travel in config.update.
        copiesChanged = detail.copy_targets !== undefined || detail.max_offline_age !== undefined;
        if (change.name !== undefined && change.name !== before.name) {
          store.renameHost(id, change.name);
          detail.name = { before: before.name, after: change.name };
        }
        if (labels !== undefined && JSON.stringify(labels) !== JSON.stringify(before.labels)) {
          store.setHostLabels(id, labels);
          detail.labels = { before: before.labels, after: labels };
          // New labels may bring other policies, and their copy targets.
          copiesChanged = true;
        }
        if (Object.keys(detail).length === 0) return null;
        audit(deps, actor, "host.update", id, detail);
        events.publish({ type: "host.updated", host_id: id, online: before.online });
        // Its labels decide which policies it gets: a change that would put it in a conflict is refused.
        return detail.labels ? recompute([id], { refuseNewConflicts: true }) : null;
      });
      if (plan) push.push(plan);
      if (copiesChanged && !plan?.hosts.some((h) => h.id === id && h.config)) push.pushConfigs([id]);
      return show(id);
    },
    /** Revokes the host: its token stops working at once and its socket is closed. */
    revoke(actor: Actor, id: string) {
      requireAdmin(actor, "revoking a host");
      get(id);
      tx(() => {
        store.deleteHost(id);
        audit(deps, actor, "host.revoke", id);
      });
      agents.close(id, 4001, "host revoked");
      events.publish({ type: "host.updated", host_id: id, online: false });
    },
    /** Sets repository settings; an absent field is left as is, an empty string clears it. */
    setConfig(actor: Actor, id: string, input: ConfigInput) {
      requireAdmin(actor, "changing a host's repository settings");
      get(id);
      const old = store.configFor(id);
      const pick = <T>(v: string | undefined, prev: T | null, map: (s: string) => T): T | null =>
        v === undefined ? prev : v === "" ? null : map(v);
      const plan = tx(() => {
        store.upsertConfig({
          host_id: id,
          repo_url: pick(input.repo_url, old?.repo_url ?? null, (s) => s),
          repo_password_enc: pick(input.repo_password, old?.repo_password_enc ?? null, secrets.seal),
          repo_username: pick(input.repo_username, old?.repo_username ?? null, (s) => s),
          repo_credential_enc: pick(input.repo_credential, old?.repo_credential_enc ?? null, secrets.seal),
          hook_shell: pick(input.hook_shell, old?.hook_shell ?? null, (s) => s),
          updated_at: clock.now().toISOString(),
        });
        audit(deps, actor, "host.config", id, configDetail(input, old?.repo_url ?? null));
        // A repository of its own overrides its policies'; clearing it brings theirs back.
        return recompute([id], { refuseNewConflicts: true });
      });
      push.push(plan);
      if (!plan.hosts.some((h) => h.config)) push.pushConfig(id);
      return show(id);
    },
  };
}

export type Hosts = ReturnType<typeof createHosts>;
/** A host as the alert sweep reads it (Hosts.facts). */
export type HostFactsView = ReturnType<Hosts["facts"]>[number];
/** A host as GET /hosts shows it. */
export type HostView = ReturnType<Hosts["view"]>;
