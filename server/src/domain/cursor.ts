import { DomainError } from "./errors.ts";

/**
 * A position in a (time DESC, id DESC) order, opaque to clients: the last row's time and id. Jobs
 * page by created_at, alerts by started_at, a host's snapshots by their time; one codec for all.
 */
export const encodeTimeCursor = (time: string, id: string) =>
  Buffer.from(JSON.stringify([time, id])).toString("base64url");

/** The (time, id) of a cursor from encodeTimeCursor; anything else is a 400 naming `cursor`. */
export function decodeTimeCursor(cursor: string): { time: string; id: string } {
  try {
    const [time, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof time === "string" && typeof id === "string") return { time, id };
  } catch {
    // Fall through.
  }
  throw new DomainError("invalid", "cursor is not valid: pass next_cursor from the previous page", "cursor");
}

/** A position in a (created_at DESC, id DESC) order (jobs, enrollment tokens). */
export const encodeCursor = (row: { created_at: string; id: string }) => encodeTimeCursor(row.created_at, row.id);

export function decodeCursor(cursor: string): { created_at: string; id: string } {
  const { time, id } = decodeTimeCursor(cursor);
  return { created_at: time, id };
}
