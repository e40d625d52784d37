import { createHash } from "node:crypto";
import { Cron } from "croner";
import { DomainError } from "./errors.ts";
import type { Schedule } from "./types.ts";

/**
 * Jitter (DESIGN §8.3): a schedule's `jitter` ("30m") spreads a fleet-wide tick. Each host delays
 * each tick by a stable offset in [0, jitter), derived from its id and the schedule's; the fire
 * still carries the nominal tick as scheduled_at, so the server's dedup on (schedule, tick) holds.
 * The offset is computed here only, and sent to the agent as the entry's delay_seconds.
 */

/** 24 h: a longer delay would push a daily tick past the next one, and past the server's tick window. */
export const MAX_JITTER_S = 86_400;

/** The agent that applies a delay: protocol 9 (schedule.set's delay_seconds). */
export const JITTER_SINCE_PROTOCOL = 9;

/** Runs looked at for a schedule's shortest interval: a week of a daily cron, a weekday cron's Friday gap. */
const INTERVAL_SAMPLE = 16;

const SHAPE = "must be a duration like 90s, 30m, 1h or 1h30m (at most 24h)";

/** "90s", "30m", "1h", "1h30m", "1d" → seconds; NaN when not of that form. */
export function jitterSeconds(text: string): number {
  const t = text.trim().toLowerCase();
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(t);
  if (!m || t === "") return Number.NaN;
  const [d, h, min, s] = [m[1], m[2], m[3], m[4]].map((x) => Number(x ?? 0)) as [number, number, number, number];
  return d * 86_400 + h * 3600 + min * 60 + s;
}

/** "1h", "1h30m", "90s" for a number of seconds, as the interval of an error message reads. */
export function durationText(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s || seconds === 0 ? `${s}s` : ""}`;
}

/** The shortest gap between the schedule's next runs, in seconds (Infinity for one that runs once). */
function shortestInterval(s: Pick<Schedule, "cron_expr" | "timezone">, now: Date): number {
  const cron = new Cron(s.cron_expr, {
    paused: true,
    mode: "5-or-6-parts",
    ...(s.timezone ? { timezone: s.timezone } : {}),
  });
  const runs = cron.nextRuns(INTERVAL_SAMPLE, now).map((d) => d.getTime());
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 1; i < runs.length; i++)
    shortest = Math.min(shortest, ((runs[i] as number) - (runs[i - 1] as number)) / 1000);
  return shortest;
}

/**
 * The schedule's jitter as stored: null for none ("", "0s"), else the text as given, trimmed.
 * Refused (400, path `jitter`) when it is not a duration, longer than 24 h, or longer than the
 * schedule's shortest interval (a tick delayed past the next one spreads nothing more). Call once
 * the cron expression itself is known to be valid.
 */
export function checkJitter(s: Pick<Schedule, "cron_expr" | "timezone" | "jitter">, now: Date): string | null {
  if (s.jitter === null || s.jitter.trim() === "") return null;
  const text = s.jitter.trim().toLowerCase();
  const seconds = jitterSeconds(text);
  if (Number.isNaN(seconds)) throw new DomainError("invalid", `jitter ${JSON.stringify(s.jitter)} ${SHAPE}`, "jitter");
  if (seconds === 0) return null;
  if (seconds > MAX_JITTER_S) {
    throw new DomainError("invalid", `jitter ${text} is longer than 24h: use at most 24h`, "jitter");
  }
  const interval = shortestInterval(s, now);
  if (seconds > interval) {
    throw new DomainError(
      "invalid",
      `jitter ${text} is longer than the schedule's shortest interval between runs (${durationText(interval)}): ` +
        `use at most ${durationText(interval)}, or a cron that runs less often`,
      "jitter",
    );
  }
  return text;
}

/**
 * The stable offset of one host's ticks of one schedule, in whole seconds in [0, jitter): the
 * first 48 bits of sha256("<host id>/<schedule id>"), modulo the jitter. The same every day and
 * after every restart; spread evenly over a fleet, since host ids are random.
 */
export function jitterOffset(hostId: string, scheduleId: string, jitterS: number): number {
  if (!(jitterS > 0)) return 0;
  const digest = createHash("sha256").update(`${hostId}/${scheduleId}`).digest();
  return digest.readUIntBE(0, 6) % Math.floor(jitterS);
}

/** What a schedule's jitter means on one host: the delay its agent applies, and why none if it cannot. */
export interface HostDelay {
  /** Seconds this host's agent fires each tick after its nominal time (0: none). */
  delay_seconds: number;
  /** Set when the schedule has a jitter this host's agent does not apply (protocol before 9). */
  jitter_problem: string | null;
}

/**
 * The delay of the schedule's ticks on this host. An agent before protocol 9 gets none (it fires
 * at the nominal times, and the server still serves it); a host that has not said hello yet is
 * counted as current.
 */
export function hostDelay(
  s: Pick<Schedule, "id" | "jitter">,
  host: { id: string; protocol_version: number | null },
): HostDelay {
  const jitterS = s.jitter ? jitterSeconds(s.jitter) : 0;
  if (!(jitterS > 0)) return { delay_seconds: 0, jitter_problem: null };
  const version = host.protocol_version;
  if (version !== null && version < JITTER_SINCE_PROTOCOL) {
    return {
      delay_seconds: 0,
      jitter_problem:
        `the agent on host ${host.id} speaks protocol ${version}, and jitter needs protocol ` +
        `${JITTER_SINCE_PROTOCOL}: it runs this schedule at its nominal times until it is upgraded`,
    };
  }
  return { delay_seconds: jitterOffset(host.id, s.id, jitterS), jitter_problem: null };
}
