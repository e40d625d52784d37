import type { ReportedHostPolicy } from "../../../protocol/index.ts";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { StateStore } from "../state/state-store.ts";
import { displayUrl, policyRefusal } from "./policy-check.ts";

/**
 * Under `repositories: "first"`, pins the host to `url` if it has no pin yet: the first
 * repository a host is given is the only one it uses until the pin is cleared on the host.
 */
export async function pinFirstRepository(
  state: StateStore,
  policy: ReportedHostPolicy,
  url: string | undefined,
  clock: Clock,
  log: Logger,
): Promise<void> {
  const identity = state.identity();
  if (policy.repositories !== "first" || !url || !identity || identity.repository_pin) return;
  await state.setIdentity({ ...identity, repository_pin: { url, pinned_at: clock.now().toISOString() } });
  log.info('pinned this host to its first repository (host policy repositories: "first")', {
    repo_url: displayUrl(url),
  });
}

/** Says in the agent's log, when the server sets a repository, that the policy will refuse it. */
export async function warnIfRepositoryRefused(state: StateStore, policy: ReportedHostPolicy, log: Logger) {
  const url = state.config()?.repo_url;
  if (!url) return;
  const refusal = await policyRefusal({ hooks: false, repoUrl: url }, policy, state.identity()?.repository_pin ?? null);
  if (refusal) log.warn(`the server set a repository this host will not use: ${refusal}`);
}
