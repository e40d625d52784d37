import { DomainError } from "./errors.ts";
import { jitterSeconds } from "./jitter.ts";
import { matchingPolicies } from "./policy-effect.ts";
import type { PolicyRow } from "./store.ts";
import type { Host } from "./types.ts";

/**
 * max_offline_age (issue 19, DESIGN §8.7): how long an agent may go on running its backups on its
 * own authority while it has no link to the server. Written in the words of a schedule's jitter
 * ("90m", "36h", "7d", "1d12h"), or "0" ("off") for never. A host's own value wins; else the first
 * policy that sets it among those that match the host, in the order the policies resolve a host's
 * repository (highest priority first, then by name); else 7 days. This module is the one place
 * that rule lives: the host's view, config.update and the fleet document all read it from here.
 */

/** 7 days: a week-long outage (a long weekend and a slow repair) still backs up. */
export const DEFAULT_MAX_OFFLINE_AGE = "7d";
/** 10 min: less is shorter than the agent's grace period before it acts alone (at least 2 min). */
export const MIN_MAX_OFFLINE_AGE_S = 600;
/** 365 days: a config a year old is no config to act on. */
export const MAX_MAX_OFFLINE_AGE_S = 365 * 86_400;
/** The first agent protocol that takes config.update.max_offline_age_seconds. */
export const OFFLINE_AGE_SINCE_PROTOCOL = 10;

const SHAPE = 'must be a duration like 90m, 36h or 7d (10m to 365d), or "0" (or "off") for never';

/** A stored value (checked on write) in seconds; "0" is 0. */
export function offlineAgeSeconds(text: string): number {
  return text === "0" ? 0 : jitterSeconds(text);
}

/**
 * A value from the API or a fleet document as stored: null clears it (the host's policies or the
 * default decide), "0" or "off" is "0" (never on its own), a duration its trimmed lower-case text.
 * Anything else is refused (400) naming `field`.
 */
export function checkMaxOfflineAge(value: string | null, field = "max_offline_age"): string | null {
  if (value === null) return null;
  const text = value.trim().toLowerCase();
  if (text === "") throw new DomainError("invalid", `${field}: ${SHAPE}; null clears it`, field);
  if (text === "off" || /^0+$/.test(text)) return "0";
  const seconds = jitterSeconds(text);
  if (Number.isNaN(seconds)) throw new DomainError("invalid", `${field}: ${JSON.stringify(value)} ${SHAPE}`, field);
  if (seconds === 0) return "0";
  if (seconds < MIN_MAX_OFFLINE_AGE_S || seconds > MAX_MAX_OFFLINE_AGE_S) {
    throw new DomainError("invalid", `${field}: ${text} is out of range: use 10m to 365d, or "0" for never`, field);
  }
  return text;
}

/** A host's max_offline_age in effect, and where it comes from. */
export interface EffectiveMaxOfflineAge {
  value: string;
  seconds: number;
  source: "default" | "host" | "policy";
  /** The policy that sets it, when source is "policy". */
  policy_id?: string;
}

/** The host's value in effect (see the module comment); `policies` as the store lists them. */
export function effectiveMaxOfflineAge(
  host: Pick<Host, "labels" | "max_offline_age">,
  policies: readonly PolicyRow[],
): EffectiveMaxOfflineAge {
  if (host.max_offline_age !== null) {
    return { value: host.max_offline_age, seconds: offlineAgeSeconds(host.max_offline_age), source: "host" };
  }
  const policy = matchingPolicies(policies, host).find((p) => p.max_offline_age !== null);
  if (policy?.max_offline_age) {
    return {
      value: policy.max_offline_age,
      seconds: offlineAgeSeconds(policy.max_offline_age),
      source: "policy",
      policy_id: policy.id,
    };
  }
  return { value: DEFAULT_MAX_OFFLINE_AGE, seconds: offlineAgeSeconds(DEFAULT_MAX_OFFLINE_AGE), source: "default" };
}
