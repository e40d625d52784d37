import * as v from "valibot";
import { type FileEntry, MAX_FILES_PER_PAGE, MAX_FRAME_BYTES, textProblem } from "../../../protocol/index.ts";
import { lsArgv } from "./argv.ts";
import { type LiveResult, type LiveRun, refuse, stoppable } from "./live-run.ts";
import { LsLine } from "./restic-json.ts";
import { ResticStderr } from "./restic-stderr.ts";
import { type FoundSnapshot, judgeSnapshotOwner } from "./restore-source.ts";
import type { Checked } from "./validate.ts";

/** One page when the server asks for no limit. */
export const DEFAULT_PAGE = 500;
/**
 * The JSON bytes one page's items may take: the frame limit (MAX_FRAME_BYTES, 1 MiB) less room
 * for the envelope. 1000 entries with 500-character paths would pass 1 MiB, so a page of long
 * paths ends early; `offset + items.length < total` still tells the server to ask for more.
 */
export const PAGE_BUDGET_BYTES = MAX_FRAME_BYTES - 64 * 1024;

/**
 * A snapshot path from the server, checked and normalised: absolute in restic's form (`/srv/www`,
 * `/C/Users`), no `.` or `..` segment (restic would not resolve them: the path would simply be
 * missing), no control character; repeated and trailing slashes dropped, so it compares equal to
 * the `path` restic prints.
 */
export function checkSnapshotPath(path: string): Checked<string> {
  const text = textProblem(path, "snapshot path");
  if (text) return { ok: false, error: text };
  if (!path.startsWith("/")) {
    return {
      ok: false,
      error: `snapshot path ${JSON.stringify(path)} must be absolute, as restic stores it (/srv/www)`,
    };
  }
  const segments = path.split("/").filter((s) => s.length > 0);
  if (segments.some((s) => s === "." || s === "..")) {
    return { ok: false, error: `snapshot path ${JSON.stringify(path)} must not contain "." or ".." segments` };
  }
  return { ok: true, value: `/${segments.join("/")}` };
}

/** A node of `ls --json` (restic-json.ts LsLine) with what browse reads of it. */
export interface LsNode {
  name: string;
  path: string;
  type: string;
  size: number;
  mtime?: string;
  linktarget?: string;
}

/**
 * Runs `ls --json` of one path and feeds each node to onNode, which answers "enough" to stop
 * restic early. The first line, the snapshot, proves whose it is: for an explicit id (restic
 * ignores --host for ids) it must belong to one of scope.hosts, else nothing is read at all.
 * Lines are handled as they come and none is kept here, so a directory of a million entries costs
 * what onNode keeps.
 */
export async function walkLs(
  run: LiveRun,
  path: string,
  action: "browse" | "download",
  onNode: (node: LsNode) => "more" | "enough",
): Promise<LiveResult<FoundSnapshot>> {
  const { scope } = run;
  const stderr = new ResticStderr(run.redact);
  const { control, dispose } = stoppable(run);
  let snapshot: FoundSnapshot | null = null;
  let refusal: LiveResult<FoundSnapshot> | null = null;
  let stopped = false;
  const stop = () => {
    stopped = true;
    control.interrupt();
  };
  const onStdout = (line: string) => {
    if (stopped) return;
    const parsed = parseLs(line);
    if (!parsed) return;
    if (parsed.kind === "snapshot") {
      snapshot = snapshotOf(parsed);
      if (!snapshot) return;
      const owner = scope.snapshotId === "latest" ? null : judgeSnapshotOwner(snapshot, scope, action);
      if (owner !== null && typeof owner !== "string") {
        refusal = refuse(owner.reason === "snapshot_missing" ? "snapshot_missing" : "other_host", owner.error ?? "");
        stop();
      }
      return;
    }
    const node = nodeOf(parsed);
    if (snapshot && node && onNode(node) === "enough") stop();
  };
  const result = await run.session
    .run(lsArgv(scope.snapshotId, path, scope.latestHost), {
      onStdout,
      onStderr: stderr.push,
      onSpawn: (child) => control.attach(child),
    })
    .finally(dispose);
  if (refusal) return refusal;
  if (run.signal.aborted) return refuse("cancelled", "the request was cancelled");
  if (!result.started) return refuse("failed", `could not start restic: ${run.redact(result.error)}`);
  const found = snapshot as FoundSnapshot | null;
  if (!found) {
    // 0.14 exits 0 with "Ignoring ..." for an unknown id or a latest that matches nothing; 0.18
    // exits 1 with "no matching ID found" / "no snapshot found".
    const failure = stderr.failure(result.exitCode);
    if (result.exitCode === 0 || failure.reason === "snapshot_missing") {
      const message =
        scope.snapshotId === "latest"
          ? `host "${scope.latestHost}" has no snapshot in the repository`
          : `snapshot ${scope.snapshotId} does not exist in the repository: pick one from the host's snapshot list`;
      return refuse("snapshot_missing", message);
    }
    return refuse("failed", failure.error);
  }
  if (result.exitCode !== 0 && !stopped) return refuse("failed", stderr.failure(result.exitCode).error);
  return { ok: true, value: found };
}

export interface DirPage {
  items: FileEntry[];
  total: number;
  snapshot_id: string;
}

/**
 * One page of a directory's direct children, in restic's order (by name). Only the page is kept:
 * the rest of the directory is counted and dropped as restic prints it.
 */
export async function listDirectory(
  run: LiveRun,
  dir: string,
  page: { offset?: number | undefined; limit?: number | undefined },
  budget = PAGE_BUDGET_BYTES,
): Promise<LiveResult<DirPage>> {
  const offset = page.offset ?? 0;
  const limit = Math.min(page.limit ?? DEFAULT_PAGE, MAX_FILES_PER_PAGE);
  const items: FileEntry[] = [];
  let self: LsNode | null = null;
  let total = 0;
  let bytes = 0;
  // Once the page is full by bytes it stays contiguous: later entries are only counted.
  let full = false;
  const walked = await walkLs(run, dir, "browse", (node) => {
    if (node.path === dir) {
      self = node;
      // A file (or a link) prints only itself: there is nothing more to read.
      return node.type === "dir" ? "more" : "enough";
    }
    // restic lists only direct children of a directory argument (0.14, 0.18); this keeps it so.
    if (parentOf(node.path) !== dir) return "more";
    const i = total++;
    if (full || i < offset || i >= offset + limit) return "more";
    const entry = entryOf(node);
    const size = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (bytes + size > budget) full = true;
    else {
      items.push(entry);
      bytes += size;
    }
    return "more";
  });
  if (!walked.ok) return walked;
  const short = walked.value.short_id ?? walked.value.id.slice(0, 8);
  const found = self as LsNode | null;
  if (found && found.type !== "dir") {
    return refuse(
      "not_a_directory",
      `${dir} is a ${found.type} in snapshot ${short}, not a directory: download it, or list its parent folder`,
    );
  }
  if (!found && total === 0 && dir !== "/") {
    return refuse("path_missing", `${dir} does not exist in snapshot ${short}`);
  }
  return { ok: true, value: { items, total, snapshot_id: walked.value.id } };
}

/** The node at path (null when the snapshot has none), and the snapshot it was found in. */
export async function lookupNode(
  run: LiveRun,
  path: string,
): Promise<LiveResult<{ snapshot: FoundSnapshot; node: LsNode | null }>> {
  let node: LsNode | null = null;
  // The node itself comes first, before a directory's children: stop restic there.
  const walked = await walkLs(run, path, "download", (n) => {
    if (n.path !== path && path !== "/") return "more";
    if (n.path === path) node = n;
    return "enough";
  });
  return walked.ok ? { ok: true, value: { snapshot: walked.value, node } } : walked;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** restic's node types; devices, fifos and sockets are "other" on the wire. */
function entryOf(node: LsNode): FileEntry {
  const type = node.type === "file" || node.type === "dir" || node.type === "symlink" ? node.type : "other";
  return {
    name: node.name,
    path: node.path,
    type,
    size: node.size,
    ...(node.mtime ? { mtime: node.mtime } : {}),
    ...(node.linktarget ? { link_target: node.linktarget } : {}),
  };
}

function parseLs(line: string): LsLine | null {
  const t = line.trim();
  if (!t.startsWith("{")) return null;
  try {
    const parsed = v.safeParse(LsLine, JSON.parse(t));
    return parsed.success ? parsed.output : null;
  } catch {
    return null;
  }
}

function snapshotOf(l: LsLine): FoundSnapshot | null {
  const rec = l as Record<string, unknown>;
  if (typeof rec.id !== "string") return null;
  return {
    id: rec.id,
    ...(typeof rec.short_id === "string" ? { short_id: rec.short_id } : {}),
    ...(typeof rec.hostname === "string" ? { hostname: rec.hostname } : {}),
  };
}

function nodeOf(l: LsLine): LsNode | null {
  if (l.name === undefined || l.path === undefined || l.type === undefined) return null;
  const link = (l as Record<string, unknown>).linktarget;
  return {
    name: l.name,
    path: l.path,
    type: l.type,
    // restic leaves size out for directories and links; negative or fractional never happens.
    size: l.size !== undefined && Number.isSafeInteger(l.size) && l.size >= 0 ? l.size : 0,
    ...(l.mtime ? { mtime: l.mtime } : {}),
    ...(typeof link === "string" ? { linktarget: link } : {}),
  };
}
