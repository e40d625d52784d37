import { isSecretEnv } from "../../../protocol/index.ts";
import { DEFAULT_OFFLINE_AFTER_S } from "./alert-conditions.ts";
import type { AlertConfig } from "./alert-config.ts";
import { audit } from "./audit.ts";
import { type ChannelConfig, SECRET_FIELDS } from "./channels.ts";
import type { Actor, DomainContext } from "./deps.ts";
import { DomainError } from "./errors.ts";
import {
  type ChannelDoc,
  channelDoc,
  DOCUMENT_VERSION,
  diffOf,
  type FleetDiff,
  type FleetDocument,
  nameKey,
  OBJECT_TYPES,
  type ObjectType,
  type PolicyDoc,
  policyDoc,
  type RepositoryDoc,
  type RuleDoc,
  repositoryDoc,
  ruleDoc,
  SECTION,
  type SecretField,
  type SecretRef,
  same,
  sortDocument,
} from "./fleet-document.ts";
import { withoutUserinfo } from "./host-view.ts";
import { requireAdmin } from "./permissions.ts";
import type { Policies } from "./policies.ts";
import type { Repositories } from "./repositories.ts";

/**
 * Only these variables may be read: a document must not be able to pull the server's own
 * credentials (its cloud keys, RF_ADMIN_PASSWORD) into a setting an admin can read back through
 * an agent or a webhook of their choosing.
 */
export const SECRET_ENV_PREFIX = "RF_SECRET_";
const ENV_NAME = /^RF_SECRET_[A-Z0-9_]{1,100}$/;

const invalid = (path: string, message: string) => new DomainError("invalid", `${path}: ${message}`, path);
const isRef = (x: unknown): x is SecretRef =>
  typeof x === "object" &&
  x !== null &&
  Object.keys(x).length === 1 &&
  typeof (x as { env?: unknown }).env === "string";

/**
 * A domain error from one object of the document, named by its full path: `schedules.0:
 * cron_expr: …` from the policy's own check becomes `policies.1.schedules.0.cron_expr: …`.
 */
function within<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    const path = err.path ? `${prefix}.${err.path}` : prefix;
    let message = err.message;
    for (;;) {
      const head = /^([\w.-]+): /.exec(message)?.[1];
      if (!head || !err.path || !(err.path === head || err.path.startsWith(`${head}.`))) break;
      message = message.slice(head.length + 2);
    }
    throw new DomainError(err.code, `${path}: ${message}`, path);
  }
}

/** Thrown inside a savepoint to undo a write that changed nothing, or the whole dry run. */
class Undo extends Error {}

export interface FleetConfigParts {
  repositories: Repositories;
  policies: Policies;
  alertConfig: AlertConfig;
  /** Where `{"env": NAME}` is read; the server's process environment. */
  environment?: Record<string, string | undefined>;
}

/**
 * Config as code (DESIGN §8.3): the repositories, policies, notification channels and alert rules
 * as one document, and a document applied as one transaction. Every object goes through the same
 * create, update and delete as its own route, so every rule of those applies; the document is the
 * whole truth, so what it leaves out is deleted.
 */
export function createFleetConfig(deps: DomainContext, parts: FleetConfigParts) {
  const { store, tx, secrets } = deps;
  const { repositories, policies, alertConfig } = parts;
  const environment = parts.environment ?? process.env;

  const openChannel = (c: { config_enc: string }) => JSON.parse(secrets.open(c.config_enc)) as ChannelConfig;

  function exportDocument(): FleetDocument {
    const repoName = new Map(store.listRepositories().map((r) => [r.id, r.name]));
    const channelName = new Map(store.listChannels().map((c) => [c.id, c.name]));
    return sortDocument({
      version: DOCUMENT_VERSION,
      repositories: store.listRepositories().map(repositoryDoc),
      policies: store.listPolicies().map((p) => policyDoc(p, (id) => repoName.get(id) ?? id)),
      notification_channels: store.listChannels().map((c) => channelDoc(c, openChannel(c))),
      alert_rules: store.listRules().map((r) => ruleDoc(r, (id) => channelName.get(id) ?? id)),
    });
  }

  /** The value of a reference, or a 400 naming the variable (never a value). */
  function resolve(ref: SecretRef, path: string): string {
    if (!ENV_NAME.test(ref.env)) {
      throw invalid(
        `${path}.env`,
        `must be the name of a variable starting with ${SECRET_ENV_PREFIX} (A-Z, 0-9 and _ only), e.g. ` +
          `${SECRET_ENV_PREFIX}PROD_PASSWORD; the server reads no other`,
      );
    }
    const value = environment[ref.env];
    if (value === undefined || value === "") {
      throw invalid(
        `${path}.env`,
        `${ref.env} is not set in the server's environment: set it where the server runs ` +
          "(/etc/restic-fleet-server/server.env for the .deb) and restart the server",
      );
    }
    return value;
  }

  /** Names listed twice in a section, and references by name to objects the document lacks. */
  function checkNames(doc: FleetDocument): void {
    const names = {} as Record<ObjectType, Set<string>>;
    for (const type of OBJECT_TYPES) {
      const section = SECTION[type];
      const seen = new Map<string, number>();
      (doc[section] as { name: string }[]).forEach((o, i) => {
        const first = seen.get(nameKey(o.name));
        if (first !== undefined) {
          throw invalid(`${section}.${i}.name`, `${JSON.stringify(o.name)} is listed twice (also ${section}.${first})`);
        }
        seen.set(nameKey(o.name), i);
      });
      names[type] = new Set(seen.keys());
    }
    doc.policies.forEach((p, i) => {
      if (p.repository != null && !names.repository.has(nameKey(p.repository))) {
        throw invalid(`policies.${i}.repository`, `no repository ${JSON.stringify(p.repository)} in this document`);
      }
    });
    doc.alert_rules.forEach((r, i) => {
      r.channels.forEach((c, j) => {
        if (!names.notification_channel.has(nameKey(c))) {
          throw invalid(
            `alert_rules.${i}.channels.${j}`,
            `no notification channel ${JSON.stringify(c)} in this document`,
          );
        }
      });
    });
  }

  function apply(actor: Actor, doc: FleetDocument, dryRun: boolean): FleetDiff {
    requireAdmin(actor, "applying a fleet config");
    if (doc.version !== DOCUMENT_VERSION) {
      throw invalid("version", `must be ${DOCUMENT_VERSION} (the document format this server reads)`);
    }
    checkNames(doc);
    const secretChanges = new Map<string, string[]>();
    const warnings: string[] = [];
    const noteSecret = (type: ObjectType, name: string, field: string) => {
      const key = `${type}/${nameKey(name)}`;
      secretChanges.set(key, [...(secretChanges.get(key) ?? []), field]);
    };

    /** One object's write in a savepoint, undone when it changed nothing; errors named under `prefix`. */
    function step(prefix: string, write: () => void, exportOne: () => unknown, secretsChanged: boolean): void {
      within(prefix, () => {
        try {
          tx(() => {
            const before = exportOne();
            write();
            if (!secretsChanged && same(before, exportOne())) throw new Undo();
          });
        } catch (err) {
          if (!(err instanceof Undo)) throw err;
        }
      });
    }
    /** A deletion; the domain's refusal (an object still in use) named with the object. */
    function removal(type: string, name: string, remove: () => void): void {
      try {
        remove();
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        throw new DomainError(err.code, `deleting ${type} ${JSON.stringify(name)}: ${err.message}`);
      }
    }
    const wanted = (section: { name: string }[]) => new Set(section.map((o) => nameKey(o.name)));

    const run = (): FleetDiff => {
      const before = exportDocument();

      // Rules and policies that go, first: what they refer to can then go too, and a policy that
      // replaces another (a rename) does not meet it as a conflict.
      const rulesWanted = wanted(doc.alert_rules);
      for (const r of store.listRules()) {
        if (!rulesWanted.has(nameKey(r.name))) {
          removal("alert rule", r.name, () => alertConfig.rules.remove(actor, r.id));
        }
      }
      const policiesWanted = wanted(doc.policies);
      for (const p of store.listPolicies()) {
        if (!policiesWanted.has(nameKey(p.name))) removal("policy", p.name, () => policies.remove(actor, p.id));
      }

      doc.repositories.forEach((r, i) => {
        applyRepository(actor, r, `repositories.${i}`);
      });
      doc.notification_channels.forEach((c, i) => {
        applyChannel(actor, c, `notification_channels.${i}`);
      });
      doc.policies.forEach((p, i) => {
        applyPolicy(actor, p, `policies.${i}`);
      });
      doc.alert_rules.forEach((r, i) => {
        applyRule(actor, r, `alert_rules.${i}`);
      });

      const channelsWanted = wanted(doc.notification_channels);
      for (const c of store.listChannels()) {
        if (!channelsWanted.has(nameKey(c.name))) {
          removal("notification channel", c.name, () => alertConfig.channels.remove(actor, c.id));
        }
      }
      const reposWanted = wanted(doc.repositories);
      for (const r of store.listRepositories()) {
        if (reposWanted.has(nameKey(r.name))) continue;
        const generated = store.repositoryHostSecrets(r.id).length;
        if (generated > 0) {
          warnings.push(
            `repository ${JSON.stringify(r.name)}: deleting it deletes the ${generated} password(s) generated for ` +
              `its hosts; without them their backups cannot be read: save them first (GET /api/v1/repositories/${r.id}/keys)`,
          );
        }
        removal("repository", r.name, () => repositories.remove(actor, r.id));
      }

      const diff = diffOf(before, exportDocument(), secretChanges, dryRun, warnings);
      if (!dryRun) {
        audit(deps, actor, "fleet_config.apply", null, {
          created: diff.created.length,
          changed: diff.changed.length,
          deleted: diff.deleted.length,
        });
      }
      return diff;
    };

    function applyRepository(actor: Actor, r: RepositoryDoc, prefix: string): void {
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
            throw invalid(
              `${prefix}.${path}`,
              `is a secret: give it as {"env": "${SECRET_ENV_PREFIX}…"}, not its value`,
            );
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

    function applyChannel(actor: Actor, c: ChannelDoc, prefix: string): void {
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

    function applyPolicy(actor: Actor, p: PolicyDoc, prefix: string): void {
      const repository_id =
        p.repository == null ? null : (store.repositoryByName(p.repository.trim())?.id ?? p.repository);
      const input = {
        name: p.name,
        selector: p.selector ?? {},
        repository_id,
        priority: p.priority ?? 0,
        enabled: p.enabled ?? true,
        schedules: p.schedules ?? [],
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

    function applyRule(actor: Actor, r: RuleDoc, prefix: string): void {
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

    let result: FleetDiff | null = null;
    try {
      tx(() => {
        result = run();
        // A dry run is the apply itself, undone: every rule ran, and nothing stays or is sent.
        if (dryRun) throw new Undo();
      });
    } catch (err) {
      if (!(err instanceof Undo)) throw err;
    }
    return result as unknown as FleetDiff;
  }

  return {
    /** The fleet as a document: no secret, no id; each section sorted by name. */
    export: exportDocument,
    /** Applies the document (or, dry, only answers what applying would change): all of it, or nothing. */
    apply,
  };
}

export type FleetConfig = ReturnType<typeof createFleetConfig>;
