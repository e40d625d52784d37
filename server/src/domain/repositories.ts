import { audit } from "./audit.ts";
import { effectiveCopyTargets } from "./copy-targets.ts";
import type { Actor, DomainContext } from "./deps.ts";
import { DomainError, notFound } from "./errors.ts";
import { ensureHostPassword } from "./host-passwords.ts";
import type { HostPush } from "./host-push.ts";
import { withoutUserinfo } from "./host-view.ts";
import { checkName } from "./names.ts";
import { requireAdmin } from "./permissions.ts";
import type { Recompute } from "./policy-sync.ts";
import { mergeEnv } from "./repository-env.ts";
import { checkRepositoryUrl, expandForHost, HOST_TOKEN, isTemplate } from "./repository-url.ts";
import type { RepositoryRow } from "./store.ts";
import { newId } from "./tokens.ts";
import type { Host, RepositoryLastCheck, ResolvedRepository } from "./types.ts";

export type { ResolvedRepository };

/** POST /repositories. Secrets arrive in clear and are sealed before anything is stored. */
export interface RepositoryInput {
  name: string;
  url: string;
  password?: string | undefined;
  username?: string | undefined;
  credential?: string | undefined;
  auto_init?: boolean | undefined;
  /**
   * restic's variables for the URL's backend (protocol/repository-backends.ts), secret or not. In a
   * PATCH each one given is set, "" removes it, and the others are left as they are.
   */
  env?: Record<string, string> | undefined;
}
/** PATCH: an absent field is left as is; "" clears password, username and credential. */
export type RepositoryPatch = Partial<RepositoryInput>;

/** A repository as the API shows it: never a secret, only whether one is set. */
export function repositoryView(r: RepositoryRow, secretNames: string[] = []) {
  return {
    id: r.id,
    name: r.name,
    url: withoutUserinfo(r.url),
    username: r.username,
    has_password: r.password_enc !== null,
    has_credential: r.credential_enc !== null,
    env: r.env,
    secret_env: secretNames,
    auto_init: r.auto_init,
    templated: isTemplate(r.url),
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}
export type RepositoryView = ReturnType<typeof repositoryView>;
/** A repository's last check or prune as shown: which job, on which host, and how it ended. */
export type RepositoryLastRun = RepositoryLastCheck & { host_name: string };
/** What the API answers: the view with the last check and prune among its hosts (createRepositories). */
export type ShownRepository = RepositoryView & {
  last_check: RepositoryLastRun | null;
  last_prune: RepositoryLastRun | null;
};

/** A shared repository has one password for every host; only a template can go without. */
function checkShape(r: RepositoryRow): void {
  if (!isTemplate(r.url) && r.password_enc === null) {
    throw new DomainError(
      "invalid",
      `password: a shared repository (a url without ${HOST_TOKEN}) needs a password; only a ${HOST_TOKEN} ` +
        "template can have one generated per host",
      "password",
    );
  }
}

export function createRepositories(deps: DomainContext, recompute: Recompute, push: () => HostPush) {
  const { store, tx, clock, secrets } = deps;
  const now = () => clock.now().toISOString();

  function get(id: string): RepositoryRow {
    const r = store.repositoryById(id);
    if (!r) throw notFound(`repository ${id}`);
    return r;
  }

  /** Call inside the write's transaction, so two creates of one name cannot both pass. */
  function uniqueName(name: string, self: string | null): void {
    const other = store.repositoryByName(name);
    if (other && other.id !== self) {
      throw new DomainError("conflict", `name: repository ${other.id} is named ${JSON.stringify(other.name)}`, "name");
    }
  }

  const seal = (v: string | undefined, prev: string | null) =>
    v === undefined ? prev : v === "" ? null : secrets.seal(v);
  const plain = (v: string | undefined, prev: string | null) => (v === undefined ? prev : v === "" ? null : v);
  const openEnv = (r: RepositoryRow): Record<string, string> =>
    r.secret_env_enc === null ? {} : (JSON.parse(secrets.open(r.secret_env_enc)) as Record<string, string>);
  const sealEnv = (secret: Record<string, string>) =>
    Object.keys(secret).length === 0 ? null : secrets.seal(JSON.stringify(secret));
  /** The view with the names (never the values) of its secret variables. */
  const view = (r: RepositoryRow) => repositoryView(r, Object.keys(openEnv(r)).sort());

  /** The names of what uses the repository (policies, once they exist); empty when nothing does. */
  function repositoryUsers(id: string): string[] {
    get(id);
    return store.repositoryUsers(id);
  }

  /**
   * The password a host uses: the repository's own, or for a template without one the host's
   * generated password, made on first use and the same ever after (the first write wins, so two
   * callers at once get the same one).
   */
  /** The hosts that have this repository among their copy targets (copy-targets.ts). */
  function hostsCopyingTo(repositoryId: string): string[] {
    const policies = store.listPolicies();
    return store
      .listHosts()
      .filter((h) =>
        effectiveCopyTargets(store.hostCopyTargets(h.id), policies, h).some((t) => t.repository_id === repositoryId),
      )
      .map((h) => h.id);
  }

  function hostPassword(r: RepositoryRow, host: Pick<Host, "id" | "name" | "restic_host">): string {
    if (r.password_enc !== null) return secrets.open(r.password_enc);
    return tx(() => secrets.open(ensureHostPassword(deps, r, host).password_enc));
  }

  /**
   * As the API shows it, with the newest finished check among the hosts it is given to (their
   * server-side records, migration 12): {job_id, host_id, status, finished_at, error}, or null.
   */
  function shown(r: RepositoryRow, checks = store.repositoryLastChecks()): ShownRepository {
    const check = checks.get(r.id);
    const prune = store.repositoryLastJob(r.id, "prune");
    return {
      ...view(r),
      last_check: check ? { ...check, host_name: store.hostById(check.host_id)?.name ?? check.host_id } : null,
      // Issue 18: the newest finished prune, by whichever host ran it (the server picks one for a shared repository).
      last_prune: prune
        ? {
            job_id: prune.job_id,
            host_id: prune.host_id,
            host_name: prune.host_name,
            status: prune.status,
            finished_at: prune.finished_at,
            error: prune.error,
          }
        : null,
    };
  }

  return {
    repositoryUsers,
    list: () => {
      const checks = store.repositoryLastChecks();
      return store.listRepositories().map((r) => shown(r, checks));
    },
    show: (id: string) => shown(get(id)),

    create(actor: Actor, input: RepositoryInput): ShownRepository {
      requireAdmin(actor, "creating a repository");
      const at = now();
      const url = checkRepositoryUrl(input.url);
      const env = mergeEnv(url, {}, input.env);
      const r: RepositoryRow = {
        id: newId("repo"),
        name: checkName(input.name),
        url,
        password_enc: seal(input.password, null),
        username: plain(input.username, null),
        credential_enc: seal(input.credential, null),
        env: env.plain,
        secret_env_enc: sealEnv(env.secret),
        auto_init: input.auto_init ?? false,
        created_at: at,
        updated_at: at,
      };
      checkShape(r);
      tx(() => {
        uniqueName(r.name, null);
        store.insertRepository(r);
        audit(deps, actor, "repository.create", r.id, { after: view(r) });
      });
      return { ...view(r), last_check: null, last_prune: null };
    },

    /**
     * Changes what the server sends, not the restic repository: a new password must be added to
     * the repository first (`restic key add`), or its hosts can no longer open it.
     */
    update(actor: Actor, id: string, patch: RepositoryPatch): ShownRepository {
      requireAdmin(actor, "changing a repository");
      const { plan } = tx(() => {
        const old = get(id);
        const url = patch.url === undefined ? old.url : checkRepositoryUrl(patch.url);
        const env = mergeEnv(url, { ...old.env, ...openEnv(old) }, patch.env);
        const r: RepositoryRow = {
          ...old,
          name: patch.name === undefined ? old.name : checkName(patch.name),
          url,
          env: env.plain,
          secret_env_enc: sealEnv(env.secret),
          password_enc: seal(patch.password, old.password_enc),
          username: plain(patch.username, old.username),
          credential_enc: seal(patch.credential, old.credential_enc),
          auto_init: patch.auto_init ?? old.auto_init,
          updated_at: now(),
        };
        checkShape(r);
        uniqueName(r.name, id);
        store.updateRepository(r);
        const fields = (Object.keys(patch) as Array<keyof RepositoryPatch>).filter((k) => patch[k] !== undefined);
        audit(deps, actor, "repository.update", id, {
          fields,
          before: view(old),
          after: view(r),
        });
        // Its hosts are sent the change (a new URL, password, variable or auto_init).
        return {
          plan: recompute(store.hostsWithPolicyRepository(id), { configChanged: true }),
        };
      });
      push().push(plan);
      // The hosts copying to it hold it as a copy target: they get the change too, once the
      // whole change committed (inside fleet-config's transaction, after it; never for a dry run).
      const sent = new Set(plan.hosts.filter((h) => h.config).map((h) => h.id));
      deps.afterCommit(() => {
        for (const host of hostsCopyingTo(id)) if (!sent.has(host)) push().pushConfig(host);
      });
      return shown(get(id));
    },

    /** Refused (409, naming them) while anything uses it; its generated passwords go with it. */
    remove(actor: Actor, id: string): void {
      requireAdmin(actor, "deleting a repository");
      tx(() => {
        const r = get(id);
        const users = store.repositoryUsers(id);
        if (users.length > 0) {
          throw new DomainError("conflict", `repository ${JSON.stringify(r.name)} is in use by ${users.join(", ")}`);
        }
        const generated = store.repositoryHostSecrets(id).length;
        store.deleteRepository(id);
        audit(deps, actor, "repository.delete", id, { before: view(r), generated_passwords: generated });
      });
    },

    /**
     * Every password of the repository, in clear, for disaster recovery: without them no backup
     * in it can be read once the server (or its secret.key) is lost. Admin only, and audited
     * (without the secrets). For a template, one entry per host that has a generated password,
     * revoked hosts included: their backups are still there.
     */
    keys(actor: Actor, id: string) {
      requireAdmin(actor, "exporting a repository's keys");
      return tx(() => {
        const r = get(id);
        const open = (enc: string | null) => (enc === null ? null : secrets.open(enc));
        const hosts = store.repositoryHostSecrets(id).map((s) => {
          const live = store.hostById(s.host_id);
          let restic_host = live?.restic_host ?? s.restic_host;
          let repo_url: string;
          try {
            repo_url = expandForHost(r.url, { id: s.host_id, restic_host });
          } catch {
            restic_host = s.restic_host; // what it was when the password was made
            repo_url = expandForHost(r.url, { id: s.host_id, restic_host });
          }
          return {
            host_id: s.host_id,
            host_name: live?.name ?? s.host_name,
            restic_host,
            repo_url,
            password: secrets.open(s.password_enc),
          };
        });
        audit(deps, actor, "repository.keys_export", id, { name: r.name, host_passwords: hosts.length });
        return {
          repository_id: r.id,
          name: r.name,
          url: r.url,
          templated: isTemplate(r.url),
          username: r.username,
          password: open(r.password_enc),
          credential: open(r.credential_enc),
          env: { ...r.env, ...openEnv(r) },
          hosts,
        };
      });
    },

    /**
     * The repository settings for one host, secrets decrypted for the wire only: what policies
     * and their propagation send in config.update. A template's `{host}` is the host's restic
     * host name (checked: it must be safe in a URL); without a password of its own the host gets
     * its generated one.
     */
    resolveForHost(repositoryId: string, host: Pick<Host, "id" | "name" | "restic_host">): ResolvedRepository {
      const r = get(repositoryId);
      const resolved: ResolvedRepository = {
        repo_url: expandForHost(r.url, host),
        repo_password: hostPassword(r, host),
        auto_init: r.auto_init,
      };
      if (r.username !== null) resolved.repo_username = r.username;
      if (r.credential_enc !== null) resolved.repo_credential = secrets.open(r.credential_enc);
      const env = { ...r.env, ...openEnv(r) };
      if (Object.keys(env).length > 0) resolved.repo_env = env;
      return resolved;
    },
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
