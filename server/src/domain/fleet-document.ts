import type { RetentionPolicy } from "../../../protocol/index.ts";
import type { AlertRuleRow, ChannelRow } from "./alert-rows.ts";
import { type ChannelConfig, SECRET_FIELDS } from "./channels.ts";
import { withoutUserinfo } from "./host-view.ts";
import type { PolicyScheduleInput } from "./policies.ts";
import type { Selector } from "./selector.ts";
import type { PolicyRow, RepositoryRow } from "./store.ts";

/**
 * The fleet as one document (DESIGN §8.3, config as code): what `GET /fleet-config` answers and
 * `PUT /fleet-config` takes. Objects are keyed by name (ids stay inside the server), and refer to
 * each other by name. Pure: reading the store and writing it is fleet-config.ts's.
 */
export const DOCUMENT_VERSION = 1;

/** A secret as a document gives it: the name of a variable of the server's environment. */
export interface SecretRef {
  env: string;
}
/** In a document: a reference; null removes the secret; left out, the stored one is kept. */
export type SecretField = SecretRef | null | undefined;

export interface RepositoryDoc {
  name: string;
  url: string;
  username?: string | null | undefined;
  password?: SecretField;
  credential?: SecretField;
  auto_init?: boolean | undefined;
  /** restic's variables for the backend: a value, or for a secret one a reference; null removes it. */
  env?: Record<string, string | SecretRef | null> | undefined;
}
export interface PolicyDoc {
  name: string;
  selector?: Selector | undefined;
  /** A repository of the document, by name; null or left out: none. */
  repository?: string | null | undefined;
  priority?: number | undefined;
  enabled?: boolean | undefined;
  schedules?: Omit<PolicyScheduleInput, "id">[] | undefined;
  /** Further repositories the hosts' snapshots are copied to (copy-targets.ts); left out: none. */
  copy_targets?: CopyTargetDoc[] | undefined;
  /** How long its hosts back up on their own while the server is away (offline-age.ts); left out: not set. */
  max_offline_age?: string | null | undefined;
}
/** A copy target in a document: its repository by name, as a policy's own `repository`. */
export interface CopyTargetDoc {
  repository: string;
  retention_policy?: RetentionPolicy | null | undefined;
  prune?: boolean | undefined;
  schedule?: string | null | undefined;
}
export interface ChannelDoc {
  name: string;
  kind: string;
  /** The kind's config; its secret fields (channels.ts SECRET_FIELDS) as references. */
  config: Record<string, unknown>;
}
export interface RuleDoc {
  name: string;
  selector?: Selector | undefined;
  conditions: string[];
  /** Notification channels of the document, by name. */
  channels: string[];
  offline_after?: string | number | undefined;
  repeat_after?: string | number | null | undefined;
  enabled?: boolean | undefined;
}
export interface FleetDocument {
  version: number;
  repositories: RepositoryDoc[];
  policies: PolicyDoc[];
  notification_channels: ChannelDoc[];
  alert_rules: RuleDoc[];
}

/** The four kinds of object, in the order a diff lists them. */
export const OBJECT_TYPES = ["repository", "notification_channel", "policy", "alert_rule"] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];
export const SECTION: Record<ObjectType, keyof Omit<FleetDocument, "version">> = {
  repository: "repositories",
  notification_channel: "notification_channels",
  policy: "policies",
  alert_rule: "alert_rules",
};

export interface FleetDiff {
  dry_run: boolean;
  created: { type: ObjectType; name: string }[];
  /** `fields`: the dot paths that differ (`schedules.0.cron_expr`), a secret's among them, sorted. */
  changed: { type: ObjectType; name: string; fields: string[] }[];
  deleted: { type: ObjectType; name: string }[];
  /** What an admin should know before applying (a deletion that drops generated passwords). */
  warnings: string[];
}

/** Names match whatever their case, as the store's unique names do. */
export const nameKey = (name: string) => name.trim().toLowerCase();

const byName = <T extends { name: string }>(list: T[]) =>
  [...list].sort((a, b) => nameKey(a.name).localeCompare(nameKey(b.name)) || a.name.localeCompare(b.name));

/** 90 → "90s", 3600 → "1h": the largest unit that divides it, as parseDuration reads it back. */
export function durationText(seconds: number): string {
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** Drops what is empty (null, [], {}): a left-out field takes its default. */
function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out as Partial<T>;
}

const sortedKeys = (o: Record<string, string>) =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

/** What the document shows of a repository: never a secret (nor a URL's userinfo), and no id. */
export const repositoryDoc = (r: RepositoryRow): RepositoryDoc =>
  compact({
    name: r.name,
    url: withoutUserinfo(r.url),
    username: r.username,
    auto_init: r.auto_init,
    env: sortedKeys(r.env),
  }) as RepositoryDoc;

export function policyDoc(p: PolicyRow, repositoryName: (id: string) => string): PolicyDoc {
  return {
    name: p.name,
    selector: p.selector,
    ...(p.repository_id === null ? {} : { repository: repositoryName(p.repository_id) }),
    priority: p.priority,
    enabled: p.enabled,
    schedules: p.schedules.map(
      ({ id: _id, policy_id: _p, ...s }) => compact(s) as unknown as Omit<PolicyScheduleInput, "id">,
    ),
    ...(p.copy_targets.length === 0
      ? {}
      : {
          // Defaults left out: no retention (keeps every copy), no prune, after each backup.
          copy_targets: p.copy_targets.map(
            (t) =>
              compact({
                repository: repositoryName(t.repository_id),
                retention_policy: t.retention_policy,
                prune: t.prune || null,
                schedule: t.schedule,
              }) as CopyTargetDoc,
          ),
        }),
    ...(p.max_offline_age === null ? {} : { max_offline_age: p.max_offline_age }),
  };
}

/** The config's fields but its secret ones; `config` is the decrypted whole. */
export function channelDoc(c: ChannelRow, config: ChannelConfig): ChannelDoc {
  const secret = SECRET_FIELDS[c.kind];
  const { kind: _k, ...fields } = config as ChannelConfig & Record<string, unknown>;
  return {
    name: c.name,
    kind: c.kind,
    config: Object.fromEntries(Object.entries(fields).filter(([k]) => !secret.includes(k))),
  };
}

export function ruleDoc(r: AlertRuleRow, channelName: (id: string) => string): RuleDoc {
  return {
    name: r.name,
    selector: r.selector,
    conditions: r.conditions,
    channels: r.channel_ids.map(channelName),
    offline_after: durationText(r.offline_after_s),
    ...(r.repeat_after_s === null ? {} : { repeat_after: durationText(r.repeat_after_s) }),
    enabled: r.enabled,
  };
}

export const sortDocument = (d: FleetDocument): FleetDocument => ({
  version: d.version,
  repositories: byName(d.repositories),
  policies: byName(d.policies),
  notification_channels: byName(d.notification_channels),
  alert_rules: byName(d.alert_rules),
});

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

export function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => same(a[k], b[k]));
  }
  return a === b;
}

/**
 * The dot paths where two exported objects differ: objects key by key, lists of one length item
 * by item, anything else (a list that grew or shrank) as a whole.
 */
export function changedPaths(a: unknown, b: unknown, path = "", out: string[] = []): string[] {
  if (same(a, b)) return out;
  const at = (k: string | number) => (path ? `${path}.${k}` : String(k));
  if (isObject(a) && isObject(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) changedPaths(a[k], b[k], at(k), out);
  } else if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (const [i, x] of a.entries()) changedPaths(x, b[i], at(i), out);
  } else {
    out.push(path);
  }
  return out;
}

/**
 * Fields a diff names as a whole: a copy target is its repository, not its place in the list, so
 * `copy_targets.0.repository` would mislead.
 */
const WHOLE_FIELDS = ["copy_targets"];
const wholeField = (path: string) => WHOLE_FIELDS.find((f) => path.startsWith(`${f}.`)) ?? path;

/**
 * The diff of two exports, the secret fields that changed added (an export shows no secret, so
 * they come from the apply): created, changed and deleted objects in type order, then by name.
 */
export function diffOf(
  before: FleetDocument,
  after: FleetDocument,
  secretChanges: ReadonlyMap<string, string[]>,
  dryRun: boolean,
  warnings: string[],
): FleetDiff {
  const diff: FleetDiff = { dry_run: dryRun, created: [], changed: [], deleted: [], warnings };
  for (const type of OBJECT_TYPES) {
    const section = SECTION[type];
    const old = new Map((before[section] as { name: string }[]).map((o) => [nameKey(o.name), o]));
    const now = new Map((after[section] as { name: string }[]).map((o) => [nameKey(o.name), o]));
    for (const [key, o] of now) {
      const was = old.get(key);
      if (!was) {
        diff.created.push({ type, name: o.name });
        continue;
      }
      const fields = [
        ...new Set([...changedPaths(was, o).map(wholeField), ...(secretChanges.get(`${type}/${key}`) ?? [])]),
      ].sort();
      if (fields.length > 0) diff.changed.push({ type, name: o.name, fields });
    }
    for (const [key, o] of old) if (!now.has(key)) diff.deleted.push({ type, name: o.name });
  }
  const order = (a: { type: ObjectType; name: string }, b: { type: ObjectType; name: string }) =>
    OBJECT_TYPES.indexOf(a.type) - OBJECT_TYPES.indexOf(b.type) || nameKey(a.name).localeCompare(nameKey(b.name));
  diff.created.sort(order);
  diff.changed.sort(order);
  diff.deleted.sort(order);
  return diff;
}
