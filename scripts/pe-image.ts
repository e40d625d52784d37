// Reads the headers of a Windows PE image (.exe/.dll) without running it: wine 8 cannot run Bun's
// Windows executables here (it fails on bcryptprimitives.dll), so the packaging and smoke tests
// check the headers instead.
// Layout: "MZ" DOS header, e_lfanew at 0x3c -> "PE\0\0", the 20-byte COFF header (Machine first),
// then the optional header whose magic tells PE32 (0x10b) from PE32+ (0x20b).
import { closeSync, openSync, readSync } from "node:fs";

export type PeMachine = "x64" | "arm64" | "x86" | "arm" | "unknown";

export interface PeInfo {
  machine: PeMachine;
  /** the raw IMAGE_FILE_MACHINE_* value, e.g. 0x8664 */
  machineCode: number;
  /** optional header magic 0x20b: a 64-bit image */
  pe32plus: boolean;
  /** "console" (IMAGE_SUBSYSTEM_WINDOWS_CUI), "gui", or "other" */
  subsystem: "console" | "gui" | "other";
}

const MACHINES: Record<number, PeMachine> = { 34404: "x64", 43620: "arm64", 332: "x86", 452: "arm" };

/** Parses PE headers from the first bytes of an image; throws on anything that is not a PE image. */
export function parsePeHeaders(buf: Uint8Array, what = "image"): PeInfo {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const need = (end: number, part: string) => {
    if (buf.byteLength < end) throw new Error(`${what}: truncated PE image (no room for the ${part})`);
  };
  need(0x40, "DOS header");
  if (buf[0] !== 0x4d || buf[1] !== 0x5a) throw new Error(`${what}: not a PE image (no "MZ" signature)`);
  const peOffset = view.getUint32(0x3c, true);
  // Signature (4) + COFF header (20) + optional header magic (2); subsystem sits at +68 in both formats.
  need(peOffset + 24 + 70, "PE headers");
  if (view.getUint32(peOffset, true) !== 0x00004550)
    throw new Error(`${what}: not a PE image (no "PE\\0\\0" signature)`);
  const machineCode = view.getUint16(peOffset + 4, true);
  const optionalSize = view.getUint16(peOffset + 20, true);
  if (optionalSize < 70) throw new Error(`${what}: PE image without an optional header`);
  const magic = view.getUint16(peOffset + 24, true);
  if (magic !== 0x10b && magic !== 0x20b)
    throw new Error(`${what}: unknown optional header magic 0x${magic.toString(16)}`);
  const subsystemCode = view.getUint16(peOffset + 24 + 68, true);
  return {
    machine: MACHINES[machineCode] ?? "unknown",
    machineCode,
    pe32plus: magic === 0x20b,
    subsystem: subsystemCode === 3 ? "console" : subsystemCode === 2 ? "gui" : "other",
  };
}

/** Reads the PE headers of the file at `path` (only its first 4 KiB). */
export function readPeInfo(path: string): PeInfo {
  const fd = openSync(path, "r");
  try {
    // The headers of any normal image fit in 4 KiB (e_lfanew is usually 0x80..0x200).
    const buf = new Uint8Array(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return parsePeHeaders(buf.subarray(0, n), path);
  } finally {
    closeSync(fd);
  }
}
