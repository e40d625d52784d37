import { mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import * as v from "valibot";

/** State files hold the agent token and the repository password: owner read/write only. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

const TEMP_MARK = ".tmp-";
let tempCounter = 0;

/** Temp files sit next to their target, so the final rename never crosses a filesystem. */
function tempPathFor(path: string): string {
  tempCounter += 1;
  return join(dirname(path), `${basename(path)}${TEMP_MARK}${process.pid}-${tempCounter}`);
}

/** Creates the directory (0700) if it is missing. An existing directory keeps its mode. */
export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
}

/**
 * Makes a rename or a new file in `dir` durable. Windows cannot open a directory for fsync,
 * and some filesystems refuse it; there the rename is as durable as the OS makes it.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL" && code !== "EBADF" && code !== "EACCES") {
      throw err;
    }
  } finally {
    await handle?.close();
  }
}

/**
 * Replaces `path` with `data` so that a crash leaves either the old or the new content, never a
 * mix: write a temp file in the same directory, fsync it, rename it over the target, fsync the
 * directory. The file is mode 0600; the directory is created (0700) when missing.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await ensureDir(dir);
  const temp = tempPathFor(path);
  let renamed = false;
  try {
    const handle = await open(temp, "wx", FILE_MODE);
    try {
      // The umask can only remove bits, but an explicit chmod keeps 0600 whatever created the dir.
      await handle.chmod(FILE_MODE);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    renamed = true;
    await fsyncDir(dir);
  } finally {
    if (!renamed) await unlink(temp).catch(() => {});
  }
}

/** Removes temp files a crash left behind for `name` in `dir` (only ours: `<name>.tmp-<pid>-<n>`). */
export async function removeStaleTempFiles(dir: string, names: readonly string[]): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const isOurs = names.some((name) => entry.startsWith(`${name}${TEMP_MARK}`));
    if (!isOurs) continue;
    await unlink(join(dir, entry)).catch(() => {});
    removed.push(entry);
  }
  return removed;
}

export type ReadJsonResult<T> =
  | { ok: true; value: T }
  | { ok: false; reason: "missing" }
  /** Bad JSON, truncated, or the wrong shape. The message never quotes the file's content. */
  | { ok: false; reason: "corrupt"; message: string }
  /** The file exists but could not be read (permissions, a directory in its place, I/O error). */
  | { ok: false; reason: "unreadable"; message: string };

/** Reads and validates a JSON file. Never throws. */
export async function readJsonFile<S extends v.GenericSchema>(
  path: string,
  schema: S,
): Promise<ReadJsonResult<v.InferOutput<S>>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { ok: false, reason: "missing" };
    return { ok: false, reason: "unreadable", message: `could not read it (${code ?? String(err)})` };
  }
  return parseJsonText(text, schema);
}

/** Parses and validates JSON text; the error message names sizes and paths, never content. */
export function parseJsonText<S extends v.GenericSchema>(text: string, schema: S): ReadJsonResult<v.InferOutput<S>> {
  if (text.trim() === "") return { ok: false, reason: "corrupt", message: "it is empty (truncated?)" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the bad token, which could be part of a secret: leave it out.
    const trimmed = text.trimEnd();
    const truncated = !trimmed.endsWith("}") && !trimmed.endsWith("]");
    return {
      ok: false,
      reason: "corrupt",
      message: `it is not valid JSON (${text.length} chars${truncated ? ", looks truncated" : ""})`,
    };
  }
  const result = v.safeParse(schema, value);
  if (result.success) return { ok: true, value: result.output };
  const issue = result.issues[0];
  const path = v.getDotPath(issue) ?? "(top level)";
  // `expected` describes the schema, not the data, so it is safe to print.
  const more = result.issues.length > 1 ? ` (and ${result.issues.length - 1} more problems)` : "";
  return {
    ok: false,
    reason: "corrupt",
    message: `it has the wrong shape: ${path}: expected ${issue.expected ?? "something else"}${more}`,
  };
}
