import { Hono } from "hono";
import * as v from "valibot";
import { MAX_FILES_PER_PAGE } from "../../../protocol/index.ts";
import type { Domain } from "../domain/domain.ts";
import { DEFAULT_PAGE } from "../domain/snapshot-files.ts";
import type { AppEnv } from "../http/auth.ts";
import { query } from "../http/validate.ts";

const Where = {
  // Absent: the domain's own message (checkSnapshotPath) says what to give.
  path: v.optional(v.pipe(v.string(), v.maxLength(4096, "must be at most 4096 characters")), ""),
  via_host_id: v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty"), v.maxLength(200))),
};
export const BrowseQuery = v.object({
  ...Where,
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,4}$/, `must be 1-${MAX_FILES_PER_PAGE}`),
      v.transform(Number),
      v.minValue(1, `must be 1-${MAX_FILES_PER_PAGE}`),
      v.maxValue(MAX_FILES_PER_PAGE, `must be 1-${MAX_FILES_PER_PAGE}`),
    ),
  ),
  // The next offset, as the previous page's next_cursor gave it.
  cursor: v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,9}$/, "must be a next_cursor of an earlier page"), v.transform(Number)),
  ),
});
export const DownloadQuery = v.object(Where);

/** `a/b` → a filename safe in a header: printable ASCII without quotes or backslashes. */
function asciiName(name: string): string {
  const plain = name.normalize("NFKD").replace(/[^\x20-\x7e]|["\\/;]/g, "_");
  return plain.trim() === "" ? "download" : plain;
}

/** RFC 5987 value: UTF-8, percent-encoded, attr-char kept. */
const extName = (name: string) =>
  encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function contentDisposition(name: string): string {
  return `attachment; filename="${asciiName(name)}"; filename*=UTF-8''${extName(name)}`;
}

/**
 * Browse (any operator, viewers included: it reads names, as the snapshot list does) and
 * download (admins only, audited: it reads contents, as a restore does) a snapshot's files.
 */
export function snapshotFileRoutes(domain: Domain) {
  return new Hono<AppEnv>()
    .get("/:id/snapshots/:snapshot_id/files", async (c) => {
      const q = query(c, BrowseQuery);
      const listing = await domain.snapshotFiles.browse({
        hostId: c.req.param("id"),
        snapshotId: c.req.param("snapshot_id"),
        path: q.path,
        viaHostId: q.via_host_id,
        offset: q.cursor ?? 0,
        limit: q.limit ?? DEFAULT_PAGE,
      });
      return c.json(listing);
    })
    .get("/:id/snapshots/:snapshot_id/download", async (c) => {
      const q = query(c, DownloadQuery);
      const head = await domain.snapshotFiles.download(
        c.get("actor"),
        { hostId: c.req.param("id"), snapshotId: c.req.param("snapshot_id"), path: q.path, viaHostId: q.via_host_id },
        c.req.raw.signal,
      );
      const fallback = `snapshot-${c.req.param("snapshot_id").slice(0, 8)}`;
      const base = head.name === "" || head.name === "/" ? fallback : head.name;
      const headers: Record<string, string> = {
        "Content-Type": head.type === "dir" ? "application/x-tar" : "application/octet-stream",
        "Content-Disposition": contentDisposition(head.type === "dir" ? `${base}.tar` : base),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
      };
      if (head.size !== null) headers["Content-Length"] = String(head.size);
      return new Response(head.body, { status: 200, headers });
    });
}
