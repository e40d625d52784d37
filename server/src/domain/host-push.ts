import { type ConfigUpdatePayload, CREDENTIAL_PAIRS } from "../../../protocol/index.ts";
import { COPY_SINCE, effectiveCopyTargets, wireCopyTargets } from "./copy-targets.ts";
import type { DomainContext } from "./deps.ts";
import { DomainError } from "./errors.ts";
import { effectiveMaxOfflineAge, OFFLINE_AGE_SINCE_PROTOCOL } from "./offline-age.ts";
import type { SyncPlan } from "./policy-sync.ts";
import { sharedPolicyRepositories } from "./repository-wide.ts";
import { entriesFor } from "./schedule-entry.ts";
import type { Host, ResolvedRepository } from "./types.ts";

/** Resolves a policy's repository for one host (Repositories.resolveForHost). */
export type ResolveRepository = (repositoryId: string, host: Host) => ResolvedRepository;

/**
 * What a host is sent, and the sending: its repository settings (config.update) and its full
 * schedule list (schedule.set). A host whose policies are in conflict is sent neither, until the
 * conflict is resolved (DESIGN §8.3); its version stays ahead of its acked one, so it shows as
 * not in sync.
 */
/**
 * A repository's restic variables as this agent can take them: whole as repo_env from protocol 8;
 * before it, only the backend's key pair, as repo_username/repo_credential (CREDENTIAL_PAIRS), and
 * nothing else (a region, a SAS token: upgrade the agent).
 */
export function forAgent(url: string, env: Record<string, string>, protocol: number) {
  if (protocol >= 8) return { env };
  const pair = CREDENTIAL_PAIRS[/^([a-z0-9]+):/i.exec(url)?.[1]?.toLowerCase() ?? ""];
  return { username: pair ? env[pair[0]] : undefined, credential: pair ? env[pair[1]] : undefined };
}

/** Hosts pushed per read of their rows. */
const PUSH_CHUNK = 250;

export function createHostPush(deps: DomainContext, resolve: ResolveRepository) {
  const { store, agents, secrets, log } = deps;

  /**
   * The config.update payload for a host, secrets decrypted for the wire only; null while its
   * policies are in conflict. The repository is the host's own settings when it has a URL there,
   * else its policies' (`policy_repository_id`). Over a link that is not `secure` (plain ws://
   * from a peer off this machine) the secrets stay here, and the payload says they were withheld.
   */
  function configPayload(hostId: string, secure: boolean): ConfigUpdatePayload | null {
    const host = store.hostById(hostId);
    if (!host || host.policy_conflict) return null;
    const c = store.configFor(hostId);
    const p: ConfigUpdatePayload = {};
    if (c?.hook_shell) p.hook_shell = c.hook_shell;
    let password: string | null = null;
    let credential: string | null = null;
    let env: Record<string, string> = {};
    let autoInit = false;
    if (c?.repo_url || !host.policy_repository_id) {
      if (c?.repo_url) p.repo_url = c.repo_url;
      if (c?.repo_username) p.repo_username = c.repo_username;
      if (c?.repo_password_enc) password = secrets.open(c.repo_password_enc);
      if (c?.repo_credential_enc) credential = secrets.open(c.repo_credential_enc);
    } else {
      const r = resolvedFor(host);
      if (r) {
        p.repo_url = r.repo_url;
        if (r.repo_username) p.repo_username = r.repo_username;
        password = r.repo_password;
        credential = r.repo_credential ?? null;
        env = r.repo_env ?? {};
        autoInit = r.auto_init;
      }
    }
    // Protocol 5: whether to initialise the repository when it does not exist yet; sent with
    // every URL (the agent keeps it), false for the host's own settings.
    if (p.repo_url && (host.protocol_version ?? 0) >= 5) p.auto_init = autoInit;
    const envFor = p.repo_url ? forAgent(p.repo_url, env, host.protocol_version ?? 0) : null;
    if (envFor?.username && !p.repo_username) p.repo_username = envFor.username;
    if (envFor?.credential && credential === null) credential = envFor.credential;
    // The policies are read once per payload, for the copy targets and max_offline_age both.
    const policies = (host.protocol_version ?? 0) >= COPY_SINCE ? store.listPolicies() : [];
    // Protocol 9: the copy targets, the whole list with every config.update ([] clears them).
    if ((host.protocol_version ?? 0) >= COPY_SINCE) {
      const targets = effectiveCopyTargets(store.hostCopyTargets(host.id), policies, host);
      const wire = wireCopyTargets(targets, (id) => resolve(id, host), secure);
      for (const problem of wire.problems) log.warn("copy target not sent", { host_id: host.id, problem });
      p.copy_targets = wire.targets;
      if (!secure && wire.targets.length > 0) p.secrets_withheld = "insecure_link";
    }
    // Protocol 10: how long the agent may back up on its own while the server is away, in every
    // payload (the agent keeps it; one never sent it runs nothing on its own). Not a secret.
    if ((host.protocol_version ?? 0) >= OFFLINE_AGE_SINCE_PROTOCOL) {
      p.max_offline_age_seconds = effectiveMaxOfflineAge(host, policies).seconds;
    }
    if (password === null && credential === null) return p;
    if (!secure) {
      p.secrets_withheld = "insecure_link";
      return p;
    }
    if (password !== null) p.repo_password = password;
    if (credential !== null) p.repo_credential = credential;
    // Protocol 8: the whole environment with every URL ({} clears what the agent held).
    if (envFor?.env) p.repo_env = envFor.env;
    return p;
  }

  /** A repository that cannot be resolved for this host (a `{host}` its name cannot fill) is logged, not sent. */
  function resolvedFor(host: Host): ResolvedRepository | null {
    try {
      return resolve(host.policy_repository_id as string, host);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      log.warn("policy repository not sent", { host_id: host.id, problem: err.message });
      return null;
    }
  }

  /** Sends the host's full schedule list at its current version; false when not sent. */
  function pushSet(hostId: string): boolean {
    const host = store.hostById(hostId);
    if (!host || host.policy_conflict) return false;
    const schedules = entriesFor(store.schedulesForHost(hostId), host, sharedPolicyRepositories(store));
    return agents.send(hostId, "schedule.set", { version: host.schedule_version, schedules });
  }

  function pushConfig(hostId: string): boolean {
    if (!agents.isConnected(hostId)) return false;
    const payload = configPayload(hostId, agents.isSecure(hostId));
    return payload !== null && agents.send(hostId, "config.update", payload);
  }

  /** Hosts and their schedules read once per chunk, so memory stays flat however many hosts change. */
  function pushChunk(chunk: SyncPlan["hosts"], shared: ReadonlyMap<string, string>): void {
    const ids = chunk.map((h) => h.id);
    const hosts = new Map(store.hostsByIds(ids).map((h) => [h.id, h]));
    const schedules = Map.groupBy(store.schedulesForHosts(ids), (s) => s.host_id);
    for (const { id, config } of chunk) {
      const host = hosts.get(id);
      if (!host || host.policy_conflict) continue;
      if (config) pushConfig(id);
      const entries = entriesFor(schedules.get(id) ?? [], host, shared);
      agents.send(id, "schedule.set", { version: host.schedule_version, schedules: entries });
    }
  }

  return {
    configPayload,
    pushSet,
    pushConfig,
    /**
     * config.update again to these hosts, once the change's transaction (and any larger one it is
     * part of, such as a fleet-config apply) has committed: a rolled-back change reaches no host.
     */
    pushConfigs(hostIds: Iterable<string>): void {
      const ids = [...hostIds];
      if (ids.length === 0) return;
      deps.afterCommit(() => {
        for (const id of ids) pushConfig(id);
      });
    },
    /**
     * After the plan's transaction committed: config first, then schedules, to each online host.
     * The hosts and their schedules are read in one go (5,000 hosts read one by one would hold
     * up every other request for a second).
     */
    push(plan: SyncPlan): void {
      // Inside a larger transaction (fleet-config), once all of it has committed.
      deps.afterCommit(() => {
        const online = plan.hosts.filter((h) => agents.isConnected(h.id));
        if (online.length === 0) return;
        const shared = sharedPolicyRepositories(store);
        for (let i = 0; i < online.length; i += PUSH_CHUNK) pushChunk(online.slice(i, i + PUSH_CHUNK), shared);
      });
    },
  };
}

export type HostPush = ReturnType<typeof createHostPush>;
