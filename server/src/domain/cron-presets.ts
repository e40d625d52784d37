/**
 * The schedule form's presets: hourly at minute m, nightly at HH:MM, weekly on a day at HH:MM, or
 * a custom cron. Pure, so the web UI bundles it; the cron is what the server stores either way.
 */
export type CronPreset =
  | { kind: "hourly"; minute: number }
  | { kind: "nightly"; hour: number; minute: number }
  | { kind: "weekly"; day: number; hour: number; minute: number }
  | { kind: "custom" };

export function presetCron(p: Exclude<CronPreset, { kind: "custom" }>): string {
  switch (p.kind) {
    case "hourly":
      return `${p.minute} * * * *`;
    case "nightly":
      return `${p.minute} ${p.hour} * * *`;
    case "weekly":
      return `${p.minute} ${p.hour} * * ${p.day}`;
  }
}

const NUMBER = "(\\d{1,2})";
const HOURLY = new RegExp(`^${NUMBER} \\* \\* \\* \\*$`);
const NIGHTLY = new RegExp(`^${NUMBER} ${NUMBER} \\* \\* \\*$`);
const WEEKLY = new RegExp(`^${NUMBER} ${NUMBER} \\* \\* ([0-7])$`);

/** The preset an expression is, so editing a schedule opens on it; "custom" for anything else. */
export function presetOf(expr: string): CronPreset {
  const e = expr.trim().replace(/\s+/g, " ");
  const ok = (minute: number, hour = 0) => minute <= 59 && hour <= 23;
  let m = HOURLY.exec(e);
  if (m && ok(Number(m[1]))) return { kind: "hourly", minute: Number(m[1]) };
  m = NIGHTLY.exec(e);
  if (m && ok(Number(m[1]), Number(m[2]))) return { kind: "nightly", hour: Number(m[2]), minute: Number(m[1]) };
  m = WEEKLY.exec(e);
  if (m && ok(Number(m[1]), Number(m[2]))) {
    return { kind: "weekly", day: Number(m[3]) % 7, hour: Number(m[2]), minute: Number(m[1]) };
  }
  return { kind: "custom" };
}
