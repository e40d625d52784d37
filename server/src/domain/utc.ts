/**
 * A peer's RFC 3339 time as the store keeps every time: UTC, millisecond ISO 8601
 * (`2026-11-30T11:00:00.123Z`). Stored times are compared and sorted as text, which is right
 * only when they share one form; an agent may send any offset and up to nanoseconds.
 * The protocol's Timestamp guarantees the input parses.
 */
export function utc(ts: string): string {
  return new Date(ts).toISOString();
}

export function utcOrNull(ts: string | null | undefined): string | null {
  return ts == null ? null : utc(ts);
}
