import { DEFAULT_OFFLINE_AFTER_S } from "./alert-conditions.ts";
import type { AlertRuleRow, ChannelRow, MuteRow } from "./alert-rows.ts";
import { checkConditions, parseDuration } from "./alert-rules.ts";
import { audit } from "./audit.ts";
import { type ChannelConfig, checkChannelConfig, type Notification, publicConfig } from "./channels.ts";
import type { Actor, DomainContext } from "./deps.ts";
import { DomainError, notFound } from "./errors.ts";
import { checkName } from "./names.ts";
import type { NotificationSender } from "./notify-link.ts";
import { requireAdmin } from "./permissions.ts";
import { checkSelector, type Selector } from "./selector.ts";
import { newId } from "./tokens.ts";

export interface ChannelInput {
  name: string;
  kind: string;
  config: unknown;
}
export interface RuleInput {
  name: string;
  selector?: Selector | undefined;
  conditions: string[];
  channel_ids: string[];
  offline_after?: string | number | undefined;
  repeat_after?: string | number | null | undefined;
  enabled?: boolean | undefined;
}
export interface MuteInput {
  host_id?: string | undefined;
  selector?: Selector | undefined;
  /** An RFC 3339 time, or a duration from now (`2h`). */
  until: string;
  reason: string;
}

/** A channel as the API shows it: never a secret. */
export const channelView = (c: ChannelRow) => ({
  id: c.id,
  name: c.name,
  kind: c.kind,
  config: c.config_public,
  created_at: c.created_at,
  updated_at: c.updated_at,
  last_delivery_at: c.last_delivery_at,
  last_error: c.last_error,
  last_error_at: c.last_error_at,
});

const ruleView = (r: AlertRuleRow) => ({
  id: r.id,
  name: r.name,
  selector: r.selector,
  conditions: r.conditions,
  channel_ids: r.channel_ids,
  offline_after_s: r.offline_after_s,
  repeat_after_s: r.repeat_after_s,
  enabled: r.enabled,
  created_at: r.created_at,
  updated_at: r.updated_at,
});

/** Channels, rules and mutes: what alerts are told to whom (DESIGN §8.4). */
export function createAlertConfig(deps: DomainContext, sender: () => NotificationSender | null) {
  const { store, tx, clock, secrets } = deps;
  const now = () => clock.now().toISOString();

  function channel(id: string): ChannelRow {
    const c = store.channelById(id);
    if (!c) throw notFound(`notification channel ${id}`);
    return c;
  }
  function rule(id: string): AlertRuleRow {
    const r = store.ruleById(id);
    if (!r) throw notFound(`alert rule ${id}`);
    return r;
  }

  function checkRule(input: RuleInput, base: Pick<AlertRuleRow, "id" | "created_at">): AlertRuleRow {
    const name = checkName(input.name);
    const selector = checkSelector(input.selector ?? {});
    const conditions = checkConditions(input.conditions);
    const offline_after_s =
      input.offline_after === undefined ? DEFAULT_OFFLINE_AFTER_S : parseDuration(input.offline_after, "offline_after");
    const repeat_after_s =
      input.repeat_after === undefined || input.repeat_after === null
        ? null
        : parseDuration(input.repeat_after, "repeat_after", { min: 300 });
    if (input.channel_ids.length === 0) {
      throw new DomainError("invalid", "channel_ids: name at least one channel", "channel_ids");
    }
    for (const [i, id] of input.channel_ids.entries()) {
      if (!store.channelById(id)) {
        throw new DomainError("invalid", `channel_ids.${i}: no notification channel ${id}`, `channel_ids.${i}`);
      }
    }
    return {
      ...base,
      name,
      selector,
      conditions,
      channel_ids: [...new Set(input.channel_ids)],
      offline_after_s,
      repeat_after_s,
      enabled: input.enabled ?? true,
      updated_at: now(),
    };
  }

  const unique = <T extends { id: string }>(found: T | null, self: string | null, what: string) => {
    if (found && found.id !== self)
      throw new DomainError("conflict", `name: ${what} ${found.id} has that name`, "name");
  };

  return {
    channels: {
      list: () => store.listChannels().map(channelView),
      show: (id: string) => channelView(channel(id)),
      create(actor: Actor, input: ChannelInput) {
        requireAdmin(actor, "creating a notification channel");
        const config = checkChannelConfig(input.kind, input.config);
        const at = now();
        const c: ChannelRow = {
          id: newId("chan"),
          name: checkName(input.name),
          kind: config.kind,
          config_public: publicConfig(config),
          config_enc: secrets.seal(JSON.stringify(config)),
          created_at: at,
          updated_at: at,
          last_delivery_at: null,
          last_error: null,
          last_error_at: null,
        };
        tx(() => {
          unique(store.channelByName(c.name), null, "channel");
          store.insertChannel(c);
          audit(deps, actor, "channel.create", c.id, { name: c.name, kind: c.kind, config: c.config_public });
        });
        return channelView(c);
      },
      /** A new config replaces the whole one: secrets are write-only, so they must be given again. */
      update(actor: Actor, id: string, input: Partial<ChannelInput>) {
        requireAdmin(actor, "changing a notification channel");
        return tx(() => {
          const old = channel(id);
          let next: ChannelRow = { ...old, updated_at: now() };
          if (input.name !== undefined) next.name = checkName(input.name);
          if (input.kind !== undefined && input.config === undefined) {
            throw new DomainError("invalid", "config: a new kind needs its config", "config");
          }
          if (input.config !== undefined) {
            const config = checkChannelConfig(input.kind ?? old.kind, input.config);
            next = {
              ...next,
              kind: config.kind,
              config_public: publicConfig(config),
              config_enc: secrets.seal(JSON.stringify(config)),
            };
          }
          unique(store.channelByName(next.name), id, "channel");
          store.updateChannel(next);
          audit(deps, actor, "channel.update", id, {
            before: { name: old.name, kind: old.kind, config: old.config_public },
            after: { name: next.name, kind: next.kind, config: next.config_public },
          });
          return channelView(next);
        });
      },
      remove(actor: Actor, id: string) {
        requireAdmin(actor, "deleting a notification channel");
        tx(() => {
          const c = channel(id);
          const users = store.rulesUsingChannel(id);
          if (users.length) {
            throw new DomainError("conflict", `channel ${JSON.stringify(c.name)} is used by rule ${users.join(", ")}`);
          }
          store.deleteChannel(id);
          audit(deps, actor, "channel.delete", id, { name: c.name, kind: c.kind });
        });
      },
      /** Sends a test message now, not through the queue, and answers what the receiver said. */
      async test(actor: Actor, id: string) {
        requireAdmin(actor, "testing a notification channel");
        const c = channel(id);
        const via = sender();
        if (!via) throw new DomainError("conflict", "this server has no notification sender");
        const n: Notification = { event: "test", alerts: [], sent_at: now() };
        const config = JSON.parse(secrets.open(c.config_enc)) as ChannelConfig;
        const result = await via.send(c.kind, config, n);
        const at = now();
        tx(() => {
          if (result.ok) store.setChannelDelivered(id, at);
          else
            store.setChannelError(
              id,
              at,
              result.status === null ? result.detail : `HTTP ${result.status}: ${result.detail}`,
            );
          audit(deps, actor, "channel.test", id, { ok: result.ok, status: result.status });
        });
        return result;
      },
    },

    rules: {
      list: () => store.listRules().map(ruleView),
      show: (id: string) => ruleView(rule(id)),
      create(actor: Actor, input: RuleInput) {
        requireAdmin(actor, "creating an alert rule");
        const r = checkRule(input, { id: newId("rule"), created_at: now() });
        tx(() => {
          unique(store.ruleByName(r.name), null, "rule");
          store.insertRule(r);
          audit(deps, actor, "alert_rule.create", r.id, { after: ruleView(r) });
        });
        return ruleView(r);
      },
      update(actor: Actor, id: string, patch: Partial<RuleInput>) {
        requireAdmin(actor, "changing an alert rule");
        return tx(() => {
          const old = rule(id);
          const merged: RuleInput = {
            name: patch.name ?? old.name,
            selector: patch.selector ?? old.selector,
            conditions: patch.conditions ?? old.conditions,
            channel_ids: patch.channel_ids ?? old.channel_ids,
            offline_after: patch.offline_after ?? old.offline_after_s,
            repeat_after: patch.repeat_after === undefined ? old.repeat_after_s : patch.repeat_after,
            enabled: patch.enabled ?? old.enabled,
          };
          const r = checkRule(merged, { id, created_at: old.created_at });
          unique(store.ruleByName(r.name), id, "rule");
          store.updateRule(r);
          audit(deps, actor, "alert_rule.update", id, { before: ruleView(old), after: ruleView(r) });
          return ruleView(r);
        });
      },
      remove(actor: Actor, id: string) {
        requireAdmin(actor, "deleting an alert rule");
        tx(() => {
          const r = rule(id);
          store.deleteRule(id);
          audit(deps, actor, "alert_rule.delete", id, { before: ruleView(r) });
        });
      },
    },

    mutes: {
      /** Newest first, each saying whether it is in force now (by the server's clock). */
      list: () => {
        const at = now();
        return store.listMutes().map((m) => ({ ...m, active: m.until > at }));
      },
      create(actor: Actor, input: MuteInput): MuteRow {
        requireAdmin(actor, "muting alerts");
        if ((input.host_id === undefined) === (input.selector === undefined)) {
          throw new DomainError("invalid", "give either host_id or selector", input.host_id ? "selector" : "host_id");
        }
        if (input.host_id !== undefined && !store.hostById(input.host_id)) {
          throw new DomainError("invalid", `host_id: no host ${input.host_id}`, "host_id");
        }
        const reason = input.reason.trim();
        if (reason === "" || reason.length > 500) {
          throw new DomainError("invalid", "reason: say why (1-500 characters)", "reason");
        }
        const at = clock.now();
        const until = /^\d+\s*[smhd]$/.test(input.until.trim())
          ? new Date(at.getTime() + parseDuration(input.until, "until", { min: 60, max: 366 * 86_400 }) * 1000)
          : new Date(input.until);
        if (!Number.isFinite(until.getTime()) || until <= at) {
          throw new DomainError(
            "invalid",
            "until: must be a time in the future (RFC 3339) or a duration such as 2h",
            "until",
          );
        }
        const m: MuteRow = {
          id: newId("mute"),
          host_id: input.host_id ?? null,
          selector: input.selector === undefined ? null : checkSelector(input.selector),
          until: until.toISOString(),
          reason,
          created_by: actor.username,
          created_at: at.toISOString(),
        };
        tx(() => {
          store.insertMute(m);
          audit(deps, actor, "mute.create", m.id, { host_id: m.host_id, selector: m.selector, until: m.until, reason });
        });
        return m;
      },
      remove(actor: Actor, id: string) {
        requireAdmin(actor, "ending a mute");
        tx(() => {
          if (!store.deleteMute(id)) throw notFound(`mute ${id}`);
          audit(deps, actor, "mute.delete", id);
        });
      },
    },
  };
}

export type AlertConfig = ReturnType<typeof createAlertConfig>;
