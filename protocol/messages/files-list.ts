import * as v from "valibot";
import { SNAPSHOT_ID } from "../checks.ts";
import { Count, envelope, Id, ResticHost, ShortText, Text } from "../common.ts";

/** An absolute path inside a snapshot, as restic stores it (`/srv/www`, `/C/Users`). */
export const SnapshotPath = v.pipe(v.string(), v.minLength(1, "must not be empty"), v.maxLength(4096));

/** How many entries of a directory one `files.listed` carries at most. */
export const MAX_FILES_PER_PAGE = 1000;

/**
 * Since protocol 7 (server → agent): list one directory of a snapshot, `restic ls --json` asked live
 * (nothing of it is kept). `source_host` names another host's snapshot in a repository both use,
 * as the restore spec does; without it the snapshot must be this host's own. `offset` and `limit`
 * page a large directory. The agent answers with one `files.listed` of the same `request_id`.
 */
export const FilesListPayload = v.object({
  request_id: Id,
  snapshot_id: v.pipe(v.string(), v.regex(SNAPSHOT_ID, "must be a snapshot id or latest")),
  path: SnapshotPath,
  source_host: v.optional(ResticHost),
  offset: v.optional(Count),
  limit: v.optional(v.pipe(Count, v.minValue(1), v.maxValue(MAX_FILES_PER_PAGE))),
});
export type FilesListPayload = v.InferOutput<typeof FilesListPayload>;
export const FilesList = envelope("files.list", FilesListPayload);
export type FilesList = v.InferOutput<typeof FilesList>;

/** restic's node types; devices, fifos and sockets are `other`. */
export const FILE_TYPES = ["file", "dir", "symlink", "other"] as const;

export const FileEntry = v.object({
  name: ShortText,
  path: SnapshotPath,
  type: v.picklist(FILE_TYPES),
  size: Count,
  mtime: v.optional(ShortText),
  /** A symlink's target, as stored. */
  link_target: v.optional(v.pipe(v.string(), v.maxLength(4096))),
});
export type FileEntry = v.InferOutput<typeof FileEntry>;

/**
 * Why a browse or a download could not be served: the snapshot or the path does not exist, the
 * path is not what the request needs (a directory to list), the snapshot is another host's, this
 * host's policy refuses it, the agent is busy with too many at once, the server cancelled it, or
 * restic failed.
 */
export const REQUEST_ERROR_CODES = [
  "snapshot_missing",
  "path_missing",
  "not_a_directory",
  "other_host",
  "policy",
  "busy",
  "cancelled",
  "no_repository",
  "failed",
] as const;
export const RequestError = v.object({ code: v.picklist(REQUEST_ERROR_CODES), message: Text });
export type RequestError = v.InferOutput<typeof RequestError>;

/**
 * Since protocol 7 (agent → server): one page of a directory, in restic's order (by name), or the
 * error. `total` counts the directory's entries, so `offset + items.length < total` means more;
 * `snapshot_id` is the full id of the snapshot listed (what `latest` resolved to).
 */
export const FilesListedPayload = v.object({
  request_id: Id,
  items: v.optional(v.pipe(v.array(FileEntry), v.maxLength(MAX_FILES_PER_PAGE))),
  total: v.optional(Count),
  snapshot_id: v.optional(ShortText),
  error: v.optional(RequestError),
});
export type FilesListedPayload = v.InferOutput<typeof FilesListedPayload>;
export const FilesListed = envelope("files.listed", FilesListedPayload);
export type FilesListed = v.InferOutput<typeof FilesListed>;
