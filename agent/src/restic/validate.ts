import { isAbsolute, win32 } from "node:path";
import { tagProblem, textProblem } from "../../../protocol/index.ts";

/**
 * Checks for server strings before they reach restic's argv. The builders never put such a string
 * where restic could read it as a flag: values ride in `--flag=VALUE` form and paths go after `--`.
 * These checks add clear errors for what would still go wrong (a relative path, a comma in a tag).
 */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const checked = (value: string, problem: string | null): Checked<string> =>
  problem ? { ok: false, error: problem } : { ok: true, value };

export function checkText(value: string, what: string): Checked<string> {
  return checked(value, textProblem(value, what));
}

/** restic stores relative paths against the agent's working directory, which nobody chose: refuse them. */
export function checkAbsolutePath(value: string, what: string, platform = process.platform): Checked<string> {
  const text = checkText(value, what);
  if (!text.ok) return text;
  const absolute = platform === "win32" ? win32.isAbsolute(value) : isAbsolute(value);
  if (!absolute) return { ok: false, error: `${what} ${JSON.stringify(value)} must be an absolute path` };
  return text;
}

/** The protocol's tag rule (`--tag a,b` is two tags to restic; a leading '-' reads as a flag). */
export function checkTag(value: string, what = "tag"): Checked<string> {
  return checked(value, tagProblem(value, what));
}

export function checkAll(values: readonly string[], check: (v: string) => Checked<string>): Checked<string[]> {
  const out: string[] = [];
  for (const value of values) {
    const r = check(value);
    if (!r.ok) return r;
    out.push(r.value);
  }
  return { ok: true, value: out };
}

/**
 * Turns a literal path into a restic include pattern that matches only that path. restic matches
 * with Go's filepath.Match: `weird[1].txt` unescaped is a character class and matched nothing
 * (measured on 0.14, which still exited 0). On Windows, Go disables backslash escapes ('\' is the
 * separator), so there the metacharacters become one-character classes instead ('*' and '?' cannot
 * occur in Windows names).
 */
export function escapeGlob(literal: string, platform = process.platform): string {
  let out: string;
  if (platform === "win32") {
    out = literal.replace(/[*?[]/g, (c) => `[${c}]`);
  } else {
    out = literal.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
  }
  // restic reads a leading '!' as "negate this pattern".
  return out.startsWith("!") ? `[!]${out.slice(1)}` : out;
}

/** restic durations for --retry-lock: "30s", "1m", "2h", "1h30m". */
export function checkDuration(value: string): Checked<string> {
  return /^(\d+[hms])+$/.test(value)
    ? { ok: true, value }
    : { ok: false, error: `${JSON.stringify(value)} is not a duration such as 30s, 1m or 2h` };
}
