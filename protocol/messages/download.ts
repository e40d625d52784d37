import * as v from "valibot";
import { SNAPSHOT_ID } from "../checks.ts";
import { Count, envelope, Id, ResticHost, ShortText } from "../common.ts";
import { RequestError, SnapshotPath } from "./files-list.ts";

/** Raw bytes per `download.chunk` (a binary frame, chunk-frame.ts) at most, under the frame limit. */
export const MAX_CHUNK_BYTES = 512 * 1024;
/** Chunks the agent may have in flight for one download at most. */
export const MAX_DOWNLOAD_WINDOW = 64;

/**
 * Since protocol 7 (server → agent): stream one file of a snapshot (a directory as a tar) from
 * `restic dump`. The agent sends `download.begin`, then `download.chunk`s, then `download.end`.
 * Flow control: the agent has at most `window` chunks unacknowledged; each `download.credit` lets
 * it send that many more. restic's stdout is read only as credit allows, so neither side holds
 * more than the window in memory, whatever the file's size.
 */
export const DownloadStartPayload = v.object({
  request_id: Id,
  snapshot_id: v.pipe(v.string(), v.regex(SNAPSHOT_ID, "must be a snapshot id or latest")),
  path: SnapshotPath,
  source_host: v.optional(ResticHost),
  window: v.pipe(Count, v.minValue(1), v.maxValue(MAX_DOWNLOAD_WINDOW)),
});
export type DownloadStartPayload = v.InferOutput<typeof DownloadStartPayload>;
export const DownloadStart = envelope("download.start", DownloadStartPayload);
export type DownloadStart = v.InferOutput<typeof DownloadStart>;

/** Since protocol 7 (server → agent): the server has passed on `chunks` more chunks. */
export const DownloadCreditPayload = v.object({ request_id: Id, chunks: v.pipe(Count, v.minValue(1)) });
export type DownloadCreditPayload = v.InferOutput<typeof DownloadCreditPayload>;
export const DownloadCredit = envelope("download.credit", DownloadCreditPayload);
export type DownloadCredit = v.InferOutput<typeof DownloadCredit>;

/** Since protocol 7 (server → agent): the client went away; stop restic and send nothing more. */
export const DownloadCancelPayload = v.object({ request_id: Id });
export type DownloadCancelPayload = v.InferOutput<typeof DownloadCancelPayload>;
export const DownloadCancel = envelope("download.cancel", DownloadCancelPayload);
export type DownloadCancel = v.InferOutput<typeof DownloadCancel>;

/**
 * Since protocol 7 (agent → server): what is coming, before the first byte: a `file` (its `size`,
 * known from the snapshot) or a `dir` (a tar, its size unknown); `name` is the last path element.
 * Or the error that refuses the download, and then nothing follows.
 */
export const DownloadBeginPayload = v.object({
  request_id: Id,
  type: v.optional(v.picklist(["file", "dir"])),
  name: v.optional(ShortText),
  size: v.optional(Count),
  error: v.optional(RequestError),
});
export type DownloadBeginPayload = v.InferOutput<typeof DownloadBeginPayload>;
export const DownloadBegin = envelope("download.begin", DownloadBeginPayload);
export type DownloadBegin = v.InferOutput<typeof DownloadBegin>;

// download.chunk, agent → server, is a binary frame: see ../chunk-frame.ts.

/**
 * Since protocol 7 (agent → server): the stream is over: `bytes` were sent in all. With `error`,
 * restic failed part way (the bytes so far are not the whole file) or the download was cancelled.
 */
export const DownloadEndPayload = v.object({
  request_id: Id,
  bytes: Count,
  error: v.optional(RequestError),
  /** restic's exit code, when it ran. */
  exit_code: v.optional(v.number()),
});
export type DownloadEndPayload = v.InferOutput<typeof DownloadEndPayload>;
export const DownloadEnd = envelope("download.end", DownloadEndPayload);
export type DownloadEnd = v.InferOutput<typeof DownloadEnd>;
