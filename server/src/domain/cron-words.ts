/**
 * A cron expression in words ("every day at 02:00", "every Monday at 03:30", "every 5 minutes"),
 * for croner's patterns as the server accepts them (cron.ts): 5 fields, or 6 with seconds first;
 * names (MON, JAN), ranges, steps and lists; L, nW, n#k and n#L in the day fields. Pure and free
 * of imports, so the web UI bundles it. null when the expression is not put in words (the caller
 * then shows the expression alone): a wrong wording is worse than none.
 */

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const NTH = ["first", "second", "third", "fourth", "fifth"];
const NICKNAMES: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
/** More times than this in one day read worse than the expression. */
const MAX_LISTED = 6;

/** One field: every value it matches, whether it is a wildcard, and its step when `*∕n`. */
interface Field {
  all: boolean;
  values: number[];
  step: number | null;
}

export const pad2 = (n: number) => String(n).padStart(2, "0");

export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${suffix}`;
}

/** "a", "a and b", "a, b and c" (or "a, b or c"). */
export function joinWords(items: readonly string[], last: "and" | "or" = "and"): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} ${last} ${items.at(-1)}`;
}

function parseNumber(text: string, names: readonly string[] | null, base: number): number | null {
  if (/^\d+$/.test(text)) return Number(text);
  const i = names ? names.indexOf(text.toUpperCase()) : -1;
  return i < 0 ? null : i + base;
}

/** Expands a field over [min, max]; null for what this module does not word (L, W, #, +). */
function parseField(text: string, min: number, max: number, names: readonly string[] | null = null): Field | null {
  const base = names === MONTH_NAMES ? 1 : 0;
  if (text === "*" || text === "?") return { all: true, values: range(min, max, 1), step: null };
  const stepOnly = /^\*\/(\d+)$/.exec(text);
  const out = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:\/(\d+))?$/.exec(part);
    if (!m) return null;
    const [, from = "", to, stepText] = m;
    const step = stepText === undefined ? 1 : Number(stepText);
    // croner refuses a step after a lone number ("5/15"): only "*/n" and "a-b/n".
    if (step < 1 || (stepText !== undefined && to === undefined && from !== "*")) return null;
    const lo = from === "*" ? min : parseNumber(from, names, base);
    const hi = to !== undefined ? parseNumber(to, names, base) : from === "*" ? max : lo;
    if (lo === null || hi === null || lo < min || hi > max || lo > hi) return null;
    for (const v of range(lo, hi, step)) out.add(v);
  }
  const values = [...out].sort((a, b) => a - b);
  const all = values.length === max - min + 1;
  const step = stepOnly ? Number(stepOnly[1]) : null;
  return { all, values, step: all ? null : step };
}

function range(lo: number, hi: number, step: number): number[] {
  const out: number[] = [];
  for (let v = lo; v <= hi; v += step) out.push(v);
  return out;
}

/** A step that repeats evenly (every 15 of 60 minutes); 7 of 60 would restart at each hour. */
const evenStep = (f: Field, size: number) => (f.step !== null && size % f.step === 0 ? f.step : null);
const every = (n: number, unit: string) => (n === 1 ? `every ${unit}` : `every ${n} ${unit}s`);
const single = (f: Field) => (!f.all && f.values.length === 1 ? (f.values[0] as number) : null);
/** Contiguous values a..b (at least 2), as from a range. */
function span(f: Field): [number, number] | null {
  const v = f.values;
  const first = v[0];
  const last = v.at(-1);
  if (f.all || first === undefined || last === undefined || v.length < 2) return null;
  return last - first + 1 === v.length ? [first, last] : null;
}

/** The day part: `lead` opens a phrase ("every Monday"), `trail` follows one ("on Mondays"). */
interface Days {
  lead: string;
  trail: string;
}

function dayWords(dom: string, month: string, dow: string): Days | null {
  const mon = parseField(month, 1, 12, MONTH_NAMES);
  if (!mon) return null;
  const months = mon.all ? null : joinWords(mon.values.map((m) => MONTHS[m - 1] as string));
  const ofMonth = months ? `of ${months}` : "of every month";
  const inMonths = months ? ` in ${months}` : "";
  const domAny = dom === "*" || dom === "?";
  const dowAny = dow === "*" || dow === "?";
  // croner ORs the two day fields (and ANDs them after "+"): worded by neither.
  if (!domAny && !dowAny) return null;
  if (domAny && dowAny) {
    return months ? { lead: `every day in ${months}`, trail: `in ${months}` } : { lead: "every day", trail: "" };
  }
  if (!domAny) {
    const on = monthDayWords(dom);
    return on ? { lead: `on ${on} ${ofMonth}`, trail: `on ${on} ${ofMonth}` } : null;
  }
  const nth = /^([A-Za-z]+|\d)#([1-5]|L)$/.exec(dow);
  if (nth) {
    const d = parseNumber(nth[1] as string, DAY_NAMES, 0);
    if (d === null || d > 7) return null;
    const which = nth[2] === "L" ? "last" : NTH[Number(nth[2]) - 1];
    const text = `on the ${which} ${DAYS[d % 7]} ${ofMonth}`;
    return { lead: text, trail: text };
  }
  const f = parseField(dow, 0, 7, DAY_NAMES);
  if (!f) return null;
  const days = [...new Set(f.values.map((d) => d % 7))].sort((a, b) => a - b);
  if (days.length === 7) return dayWords("*", month, "*");
  if (days.join() === "1,2,3,4,5") return { lead: `every weekday${inMonths}`, trail: `on weekdays${inMonths}` };
  // Monday first: "Saturday and Sunday", not "Sunday and Saturday".
  const names = [...days.filter((d) => d > 0), ...days.filter((d) => d === 0)].map((d) => DAYS[d] as string);
  return {
    lead: `every ${joinWords(names)}${inMonths}`,
    trail: `on ${joinWords(names.map((n) => `${n}s`))}${inMonths}`,
  };
}

/** "the 1st", "the 1st and 15th", "the last day", "the weekday nearest the 15th". */
function monthDayWords(dom: string): string | null {
  if (dom === "L") return "the last day";
  const w = /^(\d{1,2})W$/.exec(dom);
  if (w) {
    const d = Number(w[1]);
    return d >= 1 && d <= 31 ? `the weekday nearest the ${ordinal(d)}` : null;
  }
  const f = parseField(dom, 1, 31);
  if (!f || f.values.length > MAX_LISTED) return null;
  return `the ${joinWords(f.values.map(ordinal))}`;
}

/**
 * The time of day part. `fixed`: clock times, which follow the days ("every day at 02:00");
 * otherwise a repetition, which the days follow ("every 5 minutes on Mondays").
 */
function timeWords(sec: Field, min: Field, hour: Field): { text: string; fixed: boolean } | null {
  const s = single(sec);
  if (s === null) {
    const step = sec.all ? 1 : evenStep(sec, 60);
    return step !== null && min.all && hour.all ? { text: every(step, "second"), fixed: false } : null;
  }
  const secText = s === 0 ? "" : `:${pad2(s)}`;
  const m = single(min);
  const hr = single(hour);
  const clock = (h: number, mm: number) => `${pad2(h)}:${pad2(mm)}${secText}`;
  // Clock times: one minute in some hours, or some minutes in one hour.
  if (m !== null && !hour.all && hour.step === null && hour.values.length <= MAX_LISTED && !span(hour)) {
    return { text: `at ${joinWords(hour.values.map((h) => clock(h, m)))}`, fixed: true };
  }
  if (hr !== null && !min.all && min.step === null && min.values.length <= MAX_LISTED) {
    return { text: `at ${joinWords(min.values.map((mm) => clock(hr, mm)))}`, fixed: true };
  }
  if (s !== 0 && m === null) return null;
  const minuteStep = min.all ? 1 : evenStep(min, 60);
  if (hour.all) {
    if (m !== null) return { text: `every hour at :${pad2(m)}${secText}`, fixed: false };
    if (minuteStep !== null) return { text: every(minuteStep, "minute"), fixed: false };
    if (min.values.length <= MAX_LISTED) {
      return { text: `every hour at ${joinWords(min.values.map((mm) => `:${pad2(mm)}`))}`, fixed: false };
    }
    return null;
  }
  const hourStep = evenStep(hour, 24);
  if (m !== null && hourStep !== null)
    return { text: `${every(hourStep, "hour")} at :${pad2(m)}${secText}`, fixed: false };
  const hours = span(hour) ?? (hr !== null ? ([hr, hr] as [number, number]) : null);
  if (!hours) return null;
  const [a, b] = hours;
  if (m !== null) return { text: `every hour from ${clock(a, m)} to ${clock(b, m)}`, fixed: false };
  if (minuteStep !== null) {
    return { text: `${every(minuteStep, "minute")} from ${pad2(a)}:00 to ${pad2(b)}:59`, fixed: false };
  }
  return null;
}

/** The expression in words, or null when it is not put in words (see the module's comment). */
export function cronInWords(expr: string): string | null {
  const text = expr.trim();
  const nick = NICKNAMES[text.toLowerCase()];
  if (nick) return cronInWords(nick);
  const fields = text.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) return null;
  const [secText, minText, hourText, dom, month, dow] = (fields.length === 5 ? ["0", ...fields] : fields) as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const sec = parseField(secText, 0, 59);
  const min = parseField(minText, 0, 59);
  const hour = parseField(hourText, 0, 23);
  if (!sec || !min || !hour) return null;
  const time = timeWords(sec, min, hour);
  const days = dayWords(dom, month, dow);
  if (!time || !days) return null;
  if (time.fixed) return `${days.lead} ${time.text}`;
  return days.trail ? `${time.text} ${days.trail}` : time.text;
}
