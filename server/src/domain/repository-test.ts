import { isSecretEnv, type RepoTestedPayload } from "../../../protocol/index.ts";
import { audit } from "./audit.ts";
import { createDeadlines } from "./deadlines.ts";
import type { Actor, DomainContext } from "./deps.ts";
import { DomainError } from "./errors.ts";
import { requireAdmin } from "./permissions.ts";
import type { Repositories } from "./repositories.ts";
import { isTemplate } from "./repository-url.ts";
import { newId } from "./tokens.ts";

/** repo.test came with protocol 8. */
const MIN_PROTOCOL = 8;
/**
 * The agent's test is up to three restic steps of at most 15 s each (agent repo-test.ts), plus
 * one `cat lock` per lock; 60 s covers a slow backend before the answer is taken as lost.
 */
export const TEST_ANSWER_TIMEOUT_MS = 60_000;

/** What POST /repositories/:id/test answers. */
export interface RepositoryTestResult {
  host_id: string;
  reachable: boolean;
  initialised: boolean;
  password_ok: boolean;
  locks: { count: number; stale?: number } | null;
  error?: string;
}

/**
 * Test connection: one chosen online host's agent tests the repository, live, with the settings
 * the server holds for it for that host (its `{host}` filled in, its password), and answers
 * reachable / initialised / password right / locks. Nothing is stored but the audit line.
 */
export function createRepositoryTest(deps: DomainContext, repos: Repositories) {
  const { store, clock, agents } = deps;
  const deadlines = createDeadlines(clock);

  /** The hosts the repository is given to (through their policies), online first. */
  function users(id: string) {
    repos.show(id);
    const hosts = store.hostsByIds(store.hostsWithPolicyRepository(id));
    return hosts
      .map((h) => ({ id: h.id, name: h.name, online: agents.isConnected(h.id), protocol_version: h.protocol_version }))
      .sort((a, b) => Number(b.online) - Number(a.online) || a.name.localeCompare(b.name));
  }

  function test(actor: Actor, id: string, hostId: string): Promise<RepositoryTestResult> {
    requireAdmin(actor, "testing a repository");
    const r = repos.show(id);
    const host = store.hostById(hostId);
    if (!host) throw new DomainError("not_found", `host ${hostId} not found`, "host_id");
    if (!agents.isConnected(host.id)) {
      throw new DomainError(
        "conflict",
        `host ${host.id} is offline: the test runs on its agent; pick an online host`,
        "host_id",
      );
    }
    if ((host.protocol_version ?? 0) < MIN_PROTOCOL) {
      throw new DomainError(
        "conflict",
        `the agent on host ${host.id} speaks protocol ${host.protocol_version ?? "unknown"}, too old for testing a ` +
          `repository (protocol ${MIN_PROTOCOL}): upgrade the agent, or pick another host`,
        "host_id",
      );
    }
    if (!agents.isSecure(host.id)) {
      throw new DomainError(
        "conflict",
        `host ${host.id}'s link is not encrypted, so the repository's secrets are not sent to it: pick another host`,
        "host_id",
      );
    }
    // A template without a password has one per host, made when the host first uses it: a test
    // must not make one for a host that never will.
    const uses = store.hostsWithPolicyRepository(id).includes(host.id);
    const hasOwn = store.repositoryHostSecrets(id).some((s) => s.host_id === host.id);
    if (isTemplate(r.url) && !r.has_password && !uses && !hasOwn) {
      throw new DomainError(
        "conflict",
        `host ${host.id} does not use ${JSON.stringify(r.name)}, whose password is generated per host: pick a host that uses it`,
        "host_id",
      );
    }
    const resolved = repos.resolveForHost(id, host);
    audit(deps, actor, "repository.test", id, { host_id: host.id });
    if (!agents.requests) throw new Error("this server's agent link carries no live requests");
    const requests = agents.requests;
    const requestId = newId("req");
    return new Promise<RepositoryTestResult>((resolve, reject) => {
      const end = (fn: () => void) => {
        forget();
        timer.disarm();
        fn();
      };
      const timer = deadlines.deadline(TEST_ANSWER_TIMEOUT_MS, () =>
        end(() => reject(new DomainError("agent_timeout", `host ${host.id} did not answer the test within 60 s`))),
      );
      const forget = requests.expect(host.id, requestId, {
        answer: (msg) => {
          if (msg.type !== "repo.tested") return;
          end(() => resolve(result(host.id, msg.payload, secretsOf(resolved))));
        },
        gone: (reason) =>
          end(() => reject(new DomainError("agent_failed", `host ${host.id} went away during the test: ${reason}`))),
      });
      timer.arm();
      const sent = agents.send(host.id, "repo.test", {
        request_id: requestId,
        repo_url: resolved.repo_url,
        repo_password: resolved.repo_password,
        ...(resolved.repo_username ? { repo_username: resolved.repo_username } : {}),
        ...(resolved.repo_credential ? { repo_credential: resolved.repo_credential } : {}),
        ...(resolved.repo_env ? { repo_env: resolved.repo_env } : {}),
      });
      if (!sent)
        end(() => reject(new DomainError("conflict", `host ${host.id} went offline; try again once it is back`)));
    });
  }

  return {
    users,
    test,
    /** Fails the tests past their 60 s (called by the periodic sweep, every 10 s in production). */
    sweep: deadlines.sweep,
  };
}

/** Every secret the test was sent: the agent redacts them, and so does the server, to be sure. */
function secretsOf(r: ReturnType<Repositories["resolveForHost"]>): string[] {
  const env = Object.entries(r.repo_env ?? {}).flatMap(([name, value]) => (isSecretEnv(name) ? [value] : []));
  return [r.repo_password, r.repo_credential ?? "", ...env].filter((s) => s.length >= 4);
}

function result(hostId: string, p: RepoTestedPayload, secrets: string[]): RepositoryTestResult {
  const out: RepositoryTestResult = {
    host_id: hostId,
    reachable: p.reachable,
    initialised: p.initialised,
    password_ok: p.password_ok,
    locks: p.locks ?? null,
  };
  if (p.error) {
    let error = p.error;
    for (const s of secrets) error = error.split(s).join("***").split(encodeURIComponent(s)).join("***");
    out.error = error;
  }
  return out;
}

export type RepositoryTest = ReturnType<typeof createRepositoryTest>;
