import type { AlertConfig } from "./alert-config.ts";
import { audit } from "./audit.ts";
import type { ChannelConfig } from "./channels.ts";
import type { Actor, DomainContext } from "./deps.ts";
import { DomainError } from "./errors.ts";
import {
  channelDoc,
  DOCUMENT_VERSION,
  diffOf,
  type FleetDiff,
  type FleetDocument,
  nameKey,
  OBJECT_TYPES,
  type ObjectType,
  policyDoc,
  repositoryDoc,
  ruleDoc,
  SECTION,
  same,
  sortDocument,
} from "./fleet-document.ts";
import { invalid, secretReader, Undo, within } from "./fleet-refs.ts";
import { objectWriters } from "./fleet-writes.ts";
import { requireAdmin } from "./permissions.ts";
import type { Policies } from "./policies.ts";
import type { Repositories } from "./repositories.ts";

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
  const resolve = secretReader(parts.environment ?? process.env);

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
      const seen = new Map<string, number>();
      (p.copy_targets ?? []).forEach((t, j) => {
        const at = `policies.${i}.copy_targets.${j}.repository`;
        const key = nameKey(t.repository);
        if (!names.repository.has(key))
          throw invalid(at, `no repository ${JSON.stringify(t.repository)} in this document`);
        if (p.repository != null && key === nameKey(p.repository)) {
          throw invalid(at, "is the policy's own repository: a copy goes to another one");
        }
        const first = seen.get(key);
        if (first !== undefined) {
          throw invalid(at, `${JSON.stringify(t.repository)} is listed twice (also copy_targets.${first})`);
        }
        seen.set(key, j);
      });
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

      const write = objectWriters({ deps, repositories, policies, alertConfig, actor, resolve, noteSecret, step });
      doc.repositories.forEach((r, i) => {
        write.repository(r, `repositories.${i}`);
      });
      doc.notification_channels.forEach((c, i) => {
        write.channel(c, `notification_channels.${i}`);
      });
      doc.policies.forEach((p, i) => {
        write.policy(p, `policies.${i}`);
      });
      doc.alert_rules.forEach((r, i) => {
        write.rule(r, `alert_rules.${i}`);
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
