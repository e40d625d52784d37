import { isSecretEnv } from "../../../protocol/index.ts";
import { DEFAULT_OFFLINE_AFTER_S } from "./alert-conditions.ts";
import type { AlertConfig } from "./alert-config.ts";
import { type ChannelConfig, SECRET_FIELDS } from "./channels.ts";
import type { Actor, DomainContext } from "./deps.ts";
import {
  type ChannelDoc,
  channelDoc,
  type ObjectType,
  type PolicyDoc,
  policyDoc,
  type RepositoryDoc,
  type RuleDoc,
  repositoryDoc,
  ruleDoc,
  type SecretField,
  type SecretRef,
} from "./fleet-document.ts";
import { invalid, isRef, SECRET_ENV_PREFIX, within } from "./fleet-refs.ts";
import { withoutUserinfo } from "./host-view.ts";
import type { Policies } from "./policies.ts";
import type { Repositories } from "./repositories.ts";

/** What one apply's writers share (fleet-config.ts). */
export interface WriteContext {
  deps: DomainContext;
  repositories: Repositories;
  policies: Policies;
  alertConfig: AlertConfig;
  actor: Actor;
  resolve: (ref: SecretRef, path: string) => string;
  /** A secret field of an existing object that the apply changes (an export cannot show it). */
  noteSecret: (type: ObjectType, name: string, field: string) => void;
  /** One object's update in a savepoint, undone when it changed nothing. */
  step: (prefix: string, write: () => void, exportOne: () => unknown, secretsChanged: boolean) => void;
}

/**
 * Creates or updates one object of the document through its own service (the same writes as its
 * routes), translating the document's form: names to ids, references to secrets, a left-out
 * secret to the stored one, a left-out plain field to its default.
 */
export function objectWriters(w: WriteContext) {
  const { deps, repositories, policies, alertConfig, actor, resolve, noteSecret, step } = w;
  const { store, secrets } = deps;
  const openChannel = (c: { config_enc: string }) => JSON.parse(secrets.open(c.config_enc)) as ChannelConfig;

  function repository(r: RepositoryDoc, prefix: string): void {
    const old = store.repositoryByName(r.name.trim());
    const oldSecretEnv: Record<string, string> = old?.secret_env_enc
      ? (JSON.parse(secrets.open(old.secret_env_enc)) as Record<string, string>)
      : {};
    let changedSecret = false;
    /** The patch value of a secret: undefined keeps it, "" removes it. */
    const secret = (given: SecretField, current: string | null, field: string): string | undefined => {
      if (given === undefined) return undefined;
      if (given === null) {
        if (current === null) return undefined;
        changedSecret = true;
        if (old) noteSecret("repository", r.name, field);
        return "";
      }
      const value = resolve(given, `${prefix}.${field}`);
      if (value === current) return undefined;
      changedSecret = true;
      if (old) noteSecret("repository", r.name, field);
      return value;
    };
    const open = (enc: string | null | undefined) => (enc ? secrets.open(enc) : null);
    const password = secret(r.password, open(old?.password_enc), "password");
    const credential = secret(r.credential, open(old?.credential_enc), "credential");
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(r.env ?? {})) {
      const path = `env.${name}`;
      if (isSecretEnv(name)) {
        if (typeof value === "string") {
          throw invalid(`${prefix}.${path}`, `is a secret: give it as {"env": "${SECRET_ENV_PREFIX}…"}, not its value`);
        }
        const v = secret(value, oldSecretEnv[name] ?? null, path);
        if (v !== undefined) env[name] = v;
      } else {
        if (isRef(value)) throw invalid(`${prefix}.${path}`, "is not a secret: give its value");
        env[name] = value ?? "";
      }
    }
    // Plain variables the document leaves out go; secret ones stay (the document cannot show them).
    for (const name of Object.keys(old?.env ?? {})) if (!(name in (r.env ?? {}))) env[name] = "";

    if (!old) {
      within(prefix, () => {
        const created = repositories.create(actor, {
          name: r.name,
          url: r.url,
          username: r.username ?? undefined,
          password,
          credential,
          auto_init: r.auto_init ?? false,
          env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== "")),
        });
        return created;
      });
      return;
    }
    step(
      prefix,
      () =>
        repositories.update(actor, old.id, {
          name: r.name,
          // The export shows a URL's userinfo as ***: given back so, the stored one is kept.
          url: r.url === withoutUserinfo(old.url) ? undefined : r.url,
          username: r.username ?? "",
          password,
          credential,
          auto_init: r.auto_init ?? false,
          env,
        }),
      () => {
        const now = store.repositoryById(old.id);
        return now ? repositoryDoc(now) : null;
      },
      changedSecret,
    );
  }

  function channel(c: ChannelDoc, prefix: string): void {
    const old = store.channelByName(c.name.trim());
    const oldConfig = old ? (openChannel(old) as unknown as Record<string, unknown>) : null;
    const secretFields = (SECRET_FIELDS as Record<string, string[] | undefined>)[c.kind] ?? [];
    const config: Record<string, unknown> = {};
    let changedSecret = false;
    for (const [field, value] of Object.entries(c.config)) {
      const path = `${prefix}.config.${field}`;
      if (!secretFields.includes(field)) {
        if (isRef(value)) throw invalid(path, "is not a secret: give its value");
        config[field] = value;
      } else if (typeof value === "string") {
        throw invalid(path, `is a secret: give it as {"env": "${SECRET_ENV_PREFIX}…"}, not its value`);
      } else if (value === null) {
        // Removed: a required one is refused by the channel's own check.
      } else if (isRef(value)) {
        config[field] = resolve(value, path);
      } else {
        throw invalid(path, `is a secret: give it as {"env": "${SECRET_ENV_PREFIX}…"}`);
      }
    }
    const sameKind = old !== null && old.kind === c.kind;
    if (sameKind && oldConfig) {
      for (const field of secretFields) {
        // Left out: the stored secret is kept.
        if (!(field in c.config) && oldConfig[field] !== undefined) config[field] = oldConfig[field];
        if (config[field] !== oldConfig[field]) {
          changedSecret = true;
          noteSecret("notification_channel", c.name, `config.${field}`);
        }
      }
    }
    if (!old) {
      within(prefix, () => alertConfig.channels.create(actor, { name: c.name, kind: c.kind, config }));
      return;
    }
    step(
      prefix,
      () => alertConfig.channels.update(actor, old.id, { name: c.name, kind: c.kind, config }),
      () => {
        const now = store.channelById(old.id);
        return now ? channelDoc(now, openChannel(now)) : null;
      },
      changedSecret,
    );
  }

  function policy(p: PolicyDoc, prefix: string): void {
    const repository_id =
      p.repository == null ? null : (store.repositoryByName(p.repository.trim())?.id ?? p.repository);
    const input = {
      name: p.name,
      selector: p.selector ?? {},
      repository_id,
      priority: p.priority ?? 0,
      enabled: p.enabled ?? true,
      schedules: p.schedules ?? [],
      // The document is the whole truth: a policy without the list has no copy targets.
      copy_targets: (p.copy_targets ?? []).map(({ repository, ...t }) => ({
        ...t,
        repository_id: store.repositoryByName(repository.trim())?.id ?? repository,
      })),
      // Likewise: left out, the policy sets none (its hosts' own value or the default decides).
      max_offline_age: p.max_offline_age ?? null,
    };
    const old = store.policyByName(p.name.trim());
    if (!old) {
      within(prefix, () => policies.create(actor, input));
      return;
    }
    step(
      prefix,
      () => policies.update(actor, old.id, input),
      () => {
        const now = store.policyById(old.id);
        return now ? policyDoc(now, (id) => store.repositoryById(id)?.name ?? id) : null;
      },
      false,
    );
  }

  function rule(r: RuleDoc, prefix: string): void {
    const input = {
      name: r.name,
      selector: r.selector ?? {},
      conditions: r.conditions,
      channel_ids: r.channels.map((name) => store.channelByName(name.trim())?.id ?? name),
      offline_after: r.offline_after ?? DEFAULT_OFFLINE_AFTER_S,
      repeat_after: r.repeat_after ?? null,
      enabled: r.enabled ?? true,
    };
    const old = store.ruleByName(r.name.trim());
    if (!old) {
      within(prefix, () => alertConfig.rules.create(actor, input));
      return;
    }
    step(
      prefix,
      () => alertConfig.rules.update(actor, old.id, input),
      () => {
        const now = store.ruleById(old.id);
        return now ? ruleDoc(now, (id) => store.channelById(id)?.name ?? id) : null;
      },
      false,
    );
  }

  return { repository, channel, policy, rule };
}
