/**
 * The rules a job's values must meet, defined once: the server applies them at every door (run
 * now, schedules, and later policies), the agent again before it builds restic's argv. Each
 * returns null when the value is fine, or one sentence saying what is wrong.
 */

/** A snapshot id (8 to 64 hex digits) or `latest`. */
export const SNAPSHOT_ID = /^([0-9a-f]{8,64}|latest)$/;
/** A snapshot's own id, without `latest`. */
export const SNAPSHOT_HEX_ID = /^[0-9a-f]{8,64}$/;
/** restic's forms for `check --read-data-subset`: 10%, 1/5 or 500M. */
export const READ_DATA_SUBSET = /^(\d+(\.\d+)?%|\d+\/\d+|\d+[KMGT]?)$/;
/** A restic duration for `forget --keep-within`: 7d, 1y6m, 12h. */
export const KEEP_WITHIN = /^(\d+[ymdh])+$/;

/** Control characters (NUL, newline, escape...) have no place in a path, pattern or tag. */
export function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export function textProblem(value: string, what: string): string | null {
  if (value.length === 0) return `${what} must not be empty`;
  if (value.length > 4096) return `${what} is longer than 4096 characters`;
  if (hasControl(value)) return `${what} ${JSON.stringify(value)} contains a control character`;
  return null;
}

const POSIX_ABSOLUTE = /^\//;
const WINDOWS_ABSOLUTE = /^([A-Za-z]:[\\/]|\\\\[^\\]+\\[^\\]+)/;

/**
 * An absolute path: restic stores a relative one against a working directory nobody chose. The
 * server does not know every host's platform, so it accepts either form ("any"); the agent checks
 * against its own.
 */
export function absolutePathProblem(
  value: string,
  what: string,
  platform: "posix" | "windows" | "any" = "any",
): string | null {
  const text = textProblem(value, what);
  if (text) return text;
  const absolute =
    platform === "posix"
      ? POSIX_ABSOLUTE.test(value)
      : platform === "windows"
        ? WINDOWS_ABSOLUTE.test(value)
        : POSIX_ABSOLUTE.test(value) || WINDOWS_ABSOLUTE.test(value);
  return absolute ? null : `${what} ${JSON.stringify(value)} must be an absolute path (/srv/data or C:\\Data)`;
}

/** A tag: `--tag a,b` means two tags to restic, and a leading '-' would read as a flag elsewhere. */
export function tagProblem(value: string, what = "tag"): string | null {
  const text = textProblem(value, what);
  if (text) return text;
  if (value.startsWith("-")) return `${what} ${JSON.stringify(value)} must not start with '-'`;
  if (value.includes(",")) return `${what} ${JSON.stringify(value)} must not contain ','`;
  return null;
}

/** Tags the system writes (its own marks on snapshots): a user may not add or remove them. */
export const RESERVED_TAG_PREFIX = "fleet-";

/**
 * Since protocol 10: the tag of a snapshot made by a backup the agent ran on its own authority
 * (`fleet-job=<job id>`), from which the server rebuilds the job if the agent's reports were lost.
 */
export const FLEET_JOB_TAG = `${RESERVED_TAG_PREFIX}job=`;

/**
 * What is wrong with a tag job's lists, or null: each tag as tagProblem says, none reserved, and
 * either `set` alone or some of `add` and `remove`.
 */
export function tagChangeProblem(spec: {
  set?: readonly string[] | undefined;
  add?: readonly string[] | undefined;
  remove?: readonly string[] | undefined;
}): { field: string; problem: string } | null {
  if (spec.set !== undefined && (spec.add?.length || spec.remove?.length)) {
    return { field: "set", problem: "give either set (replace every tag) or add/remove, not both" };
  }
  if (spec.set === undefined && !spec.add?.length && !spec.remove?.length) {
    return { field: "set", problem: "a tag change needs set, add or remove" };
  }
  for (const field of ["set", "add", "remove"] as const) {
    for (const [i, t] of (spec[field] ?? []).entries()) {
      const problem = tagProblem(t);
      if (problem) return { field: `${field}.${i}`, problem };
      if (t.startsWith(RESERVED_TAG_PREFIX)) {
        return {
          field: `${field}.${i}`,
          problem: `tag ${JSON.stringify(t)} starts with "${RESERVED_TAG_PREFIX}", which Restic Fleet keeps for its own marks: it cannot be changed by hand`,
        };
      }
    }
  }
  return null;
}

const KEEP_COUNTS = ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"] as const;

/**
 * Whether a retention policy keeps anything explicitly. restic's forget with no rule removes
 * nothing and says so only in prose; 0 means "not set" to restic 0.14.
 */
export function keepsSomething(
  policy:
    | {
        keep_last?: number | undefined;
        keep_hourly?: number | undefined;
        keep_daily?: number | undefined;
        keep_weekly?: number | undefined;
        keep_monthly?: number | undefined;
        keep_yearly?: number | undefined;
        keep_within?: string | undefined;
        keep_tags?: readonly string[] | undefined;
      }
    | null
    | undefined,
): boolean {
  if (!policy) return false;
  return KEEP_COUNTS.some((k) => (policy[k] ?? 0) > 0) || !!policy.keep_within || (policy.keep_tags?.length ?? 0) > 0;
}
