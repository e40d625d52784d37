import { CONDITIONS, type Condition, DEFAULT_OFFLINE_AFTER_S } from "./alert-conditions.ts";
import type { AlertRuleRow, MuteRow } from "./alert-rows.ts";
import { DomainError } from "./errors.ts";
import type { Labels } from "./labels.ts";
import { matches } from "./selector.ts";

/** A duration as the API takes it: `90s`, `30m`, `1h`, `7d`, or seconds as a number. */
export function parseDuration(v: string | number, field: string, { min = 60, max = 30 * 86_400 } = {}): number {
  let s: number;
  if (typeof v === "number") s = v;
  else {
    const m = /^(\d+)\s*(s|m|h|d)$/.exec(v.trim());
    if (!m) throw new DomainError("invalid", `${field}: must be like 90s, 30m, 1h or 7d`, field);
    s = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as "s" | "m" | "h" | "d"];
  }
  if (!Number.isInteger(s) || s < min || s > max) {
    throw new DomainError("invalid", `${field}: must be between ${min} s and ${max / 86_400} days`, field);
  }
  return s;
}

export function checkConditions(list: readonly string[]): Condition[] {
  if (list.length === 0) throw new DomainError("invalid", "conditions: name at least one", "conditions");
  for (const [i, c] of list.entries()) {
    if (!(CONDITIONS as readonly string[]).includes(c)) {
      throw new DomainError(
        "invalid",
        `conditions.${i}: unknown condition ${JSON.stringify(c)} (one of ${CONDITIONS.join(", ")})`,
        `conditions.${i}`,
      );
    }
  }
  return [...new Set(list)] as Condition[];
}

/** The enabled rules that watch a host with these labels for this condition. */
export function rulesFor(
  rules: readonly AlertRuleRow[],
  labels: Readonly<Labels>,
  condition: Condition,
): AlertRuleRow[] {
  return rules.filter((r) => r.enabled && r.conditions.includes(condition) && matches(r.selector, labels));
}

/** The offline threshold for a host: the shortest of the rules watching it for host_offline. */
export function offlineAfterFor(rules: readonly AlertRuleRow[], labels: Readonly<Labels>): number {
  const watching = rulesFor(rules, labels, "host_offline");
  return watching.length === 0 ? DEFAULT_OFFLINE_AFTER_S : Math.min(...watching.map((r) => r.offline_after_s));
}

/** Whether a mute covers the host now. */
export function isMuted(mutes: readonly MuteRow[], host: { id: string; labels: Readonly<Labels> }, now: Date): boolean {
  const at = now.toISOString();
  return mutes.some(
    (m) => m.until > at && (m.host_id === host.id || (m.selector !== null && matches(m.selector, host.labels))),
  );
}
