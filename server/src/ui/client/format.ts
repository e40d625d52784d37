/** Human formats: relative ages (absolute time on hover), bytes, durations. */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const s = Math.round((now - Date.parse(iso)) / 1000);
  const future = s < 0;
  const a = Math.abs(s);
  const text =
    a < 45
      ? `${a}s`
      : a < 5400
        ? `${Math.round(a / 60)}m`
        : a < 129600
          ? `${Math.round(a / 3600)}h`
          : `${Math.round(a / 86400)}d`;
  return future ? `in ${text}` : `${text} ago`;
}

export function absolute(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** "every 1d", "every 6h", "every 15m", "every 30s" (and "every 1d 12h" for uneven ones). */
export function interval(seconds: number | null): string {
  if (seconds === null) return "no backup schedule";
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return `every ${parts.slice(0, 2).join(" ")}`;
}

/** "1 host", "2 hosts", "0 hosts"; `many` for the irregular ones ("1 policy", "2 policies"). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
