import { DomainError } from "./errors.ts";

/** A position in a (created_at DESC, id DESC) order, opaque to clients. */
export const encodeCursor = (row: { created_at: string; id: string }) =>
  Buffer.from(JSON.stringify([row.created_at, row.id])).toString("base64url");

export function decodeCursor(cursor: string): { created_at: string; id: string } {
  try {
    const [created_at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof created_at === "string" && typeof id === "string") return { created_at, id };
  } catch {
    // Fall through.
  }
  throw new DomainError("invalid", "cursor is not valid: pass next_cursor from the previous page", "cursor");
}
