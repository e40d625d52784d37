import { isAbsolute, win32 } from "node:path";

/**
 * Checks for server strings before they reach restic's argv. The builders never put such a string
 * where restic could read it as a flag: values ride in `--flag=VALUE` form and paths go after `--`.
 * These checks add clear errors for what would still go wrong (a relative path, a comma in a tag).
 */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

// Control characters (NUL, newline, escape...) have no place in a path, pattern or tag we run.
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export function checkText(value: string, what: string): Checked<string> {
  if (value.length === 0) return { ok: false, error: `${what} must not be empty` };
  if (value.length > 4096) return { ok: false, error: `${what} is longer than 4096 characters` };
  if (hasControl(value)) return { ok: false, error: `${what} ${JSON.stringify(value)} contains a control character` };
  return { ok: true, value };
}

/** restic stores relative paths against the agent's working directory, which nobody chose: refuse them. */
export function checkAbsolutePath(value: string, what: string, platform = process.platform): Checked<string> {
  const text = checkText(value, what);
  if (!text.ok) return text;
  const absolute = platform === "win32" ? win32.isAbsolute(value) : isAbsolute(value);
  if (!absolute) return { ok: false, error: `${what} ${JSON.stringify(value)} must be an absolute path` };
  return text;
}

/** A tag: `--tag a,b` means two tags to restic, and a leading '-' would read as a flag elsewhere. */
export function checkTag(value: string, what = "tag"): Checked<string> {
  const text = checkText(value, what);
  if (!text.ok) return text;
  if (value.startsWith("-")) return { ok: false, error: `${what} ${JSON.stringify(value)} must not start with '-'` };
  if (value.includes(",")) return { ok: false, error: `${what} ${JSON.stringify(value)} must not contain ','` };
  return text;
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
 * (FIELD-NOTES). On Windows, Go disables backslash escapes ('\' is the separator), so there the
 * metacharacters become one-character classes instead ('*' and '?' cannot occur in Windows names).
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
