import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat } from "node:fs/promises";
import { join, win32 } from "node:path";
import type { DrillFile, DrillLiveState } from "../../../protocol/index.ts";
import type { SnapshotFile } from "./drill-sample.ts";

/**
 * restic's mtime (RFC 3339, up to 9 fractional digits, `Z` or an offset) in nanoseconds since
 * the epoch. Measured: 0.14 and 0.18 both store the full nanoseconds Linux gives
 * ("2026-12-02T05:10:05.350621722Z" for a file whose stat says .350621722).
 */
export function mtimeNs(text: string): bigint | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (!Number.isFinite(ms)) return null;
  const frac = BigInt((m[2] ?? "").padEnd(9, "0") || "0");
  return BigInt(ms) * 1_000_000n + frac;
}

/** Where restic restores a snapshot path: `<target>/<path>`; on Windows /C/x becomes <target>\C\x. */
export function restoredPath(target: string, path: string, platform = process.platform): string {
  return platform === "win32" ? win32.join(target, ...path.split("/")) : join(target, path);
}

/** The live file for a snapshot path: itself on POSIX; /C/x is C:\x on Windows. */
export function livePath(path: string, platform = process.platform): string {
  if (platform !== "win32") return path;
  const m = /^\/([A-Za-z])(?:\/(.*))?$/.exec(path);
  return m ? `${m[1]}:\\${(m[2] ?? "").replace(/\//g, "\\")}` : path.replace(/\//g, "\\");
}

/** sha256 of a file, read as a stream (a sampled file may be up to max_bytes). */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException)?.code === "ENOENT";

/** Checks one sampled file: the restored copy (hash), then the live file where it is unchanged. */
export async function checkFile(
  file: SnapshotFile,
  target: string,
  resticError: string | undefined,
  platform = process.platform,
): Promise<DrillFile> {
  const base = { path: file.path, size: file.size };
  if (resticError) return { ...base, sha256: null, live: "not_restored", error: resticError };
  const restored = restoredPath(target, file.path, platform);
  const copy = await lstat(restored).catch((err) => (isMissing(err) ? null : Promise.reject(err)));
  if (!copy?.isFile()) {
    return { ...base, sha256: null, live: "not_restored", error: "restic restored no file at this path" };
  }
  if (copy.size !== file.size) {
    const error = `restored ${copy.size} bytes where the snapshot has ${file.size}`;
    return { ...base, sha256: null, live: "not_restored", error };
  }
  const sha256 = await sha256File(restored);
  try {
    return { ...base, sha256, live: await compareLive(file, sha256, platform) };
  } catch (err) {
    // An agent without the rights to read the live file cannot compare it: not a failed restore.
    const error = `the live file could not be read, so it was not compared: ${(err as Error).message}`;
    return { ...base, sha256, live: "changed", error };
  }
}

async function compareLive(file: SnapshotFile, sha256: string, platform: NodeJS.Platform): Promise<DrillLiveState> {
  const live = livePath(file.path, platform);
  const stat = await lstat(live, { bigint: true }).catch((err) => (isMissing(err) ? null : Promise.reject(err)));
  if (!stat) return "missing";
  // Nanoseconds on both sides: restic stored what this filesystem gave it, so an unchanged file
  // compares equal at whatever precision the filesystem has.
  const unchanged = stat.isFile() && stat.size === BigInt(file.size) && stat.mtimeNs === mtimeNs(file.mtime);
  if (!unchanged) return "changed";
  return (await sha256File(live)) === sha256 ? "matched" : "mismatch";
}

/**
 * The files restic names in its restore errors, with its message: 0.14 prints
 * `ignoring error for /p: ciphertext verification failed` on stderr, 0.18 with --json
 * `{"message_type":"error","error":{"message":"decrypting blob <data/…> from … failed: ciphertext verification failed"},"item":"/p"}`.
 * The first error per file is kept (the later ones follow from it: "UtimesNano: no such file").
 */
/** Per file: restic's one-line reasons are ~90 characters; 1000 of these must fit one job.finished frame. */
const MAX_ERROR_CHARS = 200;

export class RestoreErrors {
  readonly byPath = new Map<string, string>();

  note = (line: string): void => {
    const text = /^ignoring error for (.+?): (.+)$/.exec(line.trim());
    if (text?.[1] && text[2]) {
      this.#keep(text[1], text[2]);
      return;
    }
    if (!line.trimStart().startsWith("{")) return;
    try {
      const msg = JSON.parse(line) as { message_type?: unknown; item?: unknown; error?: unknown };
      if (msg.message_type !== "error" || typeof msg.item !== "string") return;
      const err = msg.error as { message?: unknown } | string | undefined;
      const message = typeof err === "string" ? err : typeof err?.message === "string" ? err.message : "restore error";
      this.#keep(msg.item, message);
    } catch {
      // not JSON: restic's plain text, already in the job log
    }
  };

  #keep(path: string, message: string): void {
    if (!this.byPath.has(path)) this.byPath.set(path, message.slice(0, MAX_ERROR_CHARS));
  }
}
