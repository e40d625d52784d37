import { h } from "../dom.ts";
import { labelTags } from "../labels.ts";
import type { AlertCondition, Mute } from "../types.ts";

/**
 * Each condition in words. A Record over the server's own type: a condition added there fails
 * the type check here until it has its words.
 */
export const CONDITION_TEXT: Record<AlertCondition, string> = {
  backup_failed: "backup failed",
  backup_warning: "backup finished with warnings",
  backup_stale: "backup stale",
  host_offline: "host offline",
  check_failed: "check failed",
  drill_failed: "restore drill failed",
  copy_stale: "copy lags its schedule",
  copy_failed: "copy failed",
};
export const CONDITIONS = Object.keys(CONDITION_TEXT) as AlertCondition[];

export const conditionText = (c: string) => CONDITION_TEXT[c as AlertCondition] ?? c.replaceAll("_", " ");

/** 3600 → "1h", 5400 → "90m", 90 → "90s": the shortest exact form, as the API takes it back. */
export function durationText(seconds: number): string {
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** Whether a mute's host or selector covers a host with these labels (the server's own rule). */
export function muteCovers(m: Mute, hostId: string, labels: Record<string, string>): boolean {
  if (m.host_id !== null) return m.host_id === hostId;
  const wanted = m.selector?.labels ?? {};
  return Object.entries(wanted).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);
}

/** Mutes still in force, by this browser's clock. */
export const activeMutes = (mutes: Mute[], now = Date.now()) => mutes.filter((m) => Date.parse(m.until) > now);

/** What a mute covers: a host (by name, linked) or a selector's labels ("every host" when empty). */
export function muteScope(m: Mute, hostName: (id: string) => string) {
  if (m.host_id !== null) return h("a", { href: `#/hosts/${m.host_id}` }, hostName(m.host_id));
  return labelTags(m.selector?.labels ?? {}) ?? h("span", { class: "muted" }, "every host");
}
