import { joinWords } from "./cron-words.ts";

/**
 * A forget schedule's retention policy (protocol/common.ts RetentionPolicy, and restic's own
 * keep_within_* forms) in words: "keeps the last 10, 7 daily, 4 weekly; prunes afterwards".
 * Pure, so the web UI bundles it.
 */
export type RetentionLike = Readonly<Record<string, unknown>> | null | undefined;

const COUNTS = [
  ["keep_last", (n: number) => `the last ${n}`],
  ["keep_hourly", (n: number) => `${n} hourly`],
  ["keep_daily", (n: number) => `${n} daily`],
  ["keep_weekly", (n: number) => `${n} weekly`],
  ["keep_monthly", (n: number) => `${n} monthly`],
  ["keep_yearly", (n: number) => `${n} yearly`],
] as const;
const WITHIN = ["hourly", "daily", "weekly", "monthly", "yearly"] as const;
const UNITS: Record<string, string> = { y: "year", m: "month", d: "day", h: "hour" };

/** A restic duration ("1y6m", "30d") in words ("1 year 6 months", "30 days"); as given if not one. */
export function durationWords(d: string): string {
  if (!/^(\d+[ymdh])+$/.test(d)) return d;
  return [...d.matchAll(/(\d+)([ymdh])/g)]
    .map(([, n, u]) => `${Number(n)} ${UNITS[u as string]}${Number(n) === 1 ? "" : "s"}`)
    .join(" ");
}

/** What the policy keeps, or "keeps nothing explicitly" (the agent refuses such a forget). */
export function retentionInWords(policy: RetentionLike, prune?: boolean): string {
  const p = policy ?? {};
  const kept: string[] = [];
  for (const [key, words] of COUNTS) {
    const n = p[key];
    if (typeof n === "number" && n > 0) kept.push(words(n));
  }
  if (typeof p.keep_within === "string" && p.keep_within) kept.push(`all within ${durationWords(p.keep_within)}`);
  for (const w of WITHIN) {
    const d = p[`keep_within_${w}`];
    if (typeof d === "string" && d) kept.push(`${w} within ${durationWords(d)}`);
  }
  const tags = Array.isArray(p.keep_tags) ? p.keep_tags.filter((t): t is string => typeof t === "string" && !!t) : [];
  if (tags.length) kept.push(`any tagged ${joinWords(tags, "or")}`);
  const keeps = kept.length ? `keeps ${kept.join(", ")}` : "keeps nothing explicitly";
  if (prune === undefined) return keeps;
  return `${keeps}; ${prune ? "prunes afterwards" : "does not prune"}`;
}
