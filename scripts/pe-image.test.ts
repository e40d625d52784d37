import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parsePeHeaders, readPeInfo } from "./pe-image.ts";

/** A minimal PE header block: MZ, e_lfanew = 0x80, "PE\0\0", COFF header, optional header magic + subsystem. */
function fakePe(opts: { machine: number; magic: number; subsystem?: number; peOffset?: number }): Uint8Array {
  const peOffset = opts.peOffset ?? 0x80;
  const optionalSize = opts.magic === 0x20b ? 240 : 224;
  const buf = new Uint8Array(peOffset + 24 + optionalSize);
  const v = new DataView(buf.buffer);
  buf.set([0x4d, 0x5a], 0);
  v.setUint32(0x3c, peOffset, true);
  buf.set([0x50, 0x45, 0, 0], peOffset);
  v.setUint16(peOffset + 4, opts.machine, true);
  v.setUint16(peOffset + 20, optionalSize, true);
  v.setUint16(peOffset + 24, opts.magic, true);
  v.setUint16(peOffset + 24 + 68, opts.subsystem ?? 3, true);
  return buf;
}

describe("parsePeHeaders", () => {
  test("x64 PE32+ console image", () => {
    expect(parsePeHeaders(fakePe({ machine: 0x8664, magic: 0x20b }))).toEqual({
      machine: "x64",
      machineCode: 0x8664,
      pe32plus: true,
      subsystem: "console",
    });
  });

  test("arm64 PE32+ image", () => {
    const info = parsePeHeaders(fakePe({ machine: 0xaa64, magic: 0x20b, peOffset: 0x100 }));
    expect(info.machine).toBe("arm64");
    expect(info.pe32plus).toBe(true);
  });

  test("32-bit x86 GUI image is PE32, not PE32+", () => {
    const info = parsePeHeaders(fakePe({ machine: 0x14c, magic: 0x10b, subsystem: 2 }));
    expect(info).toEqual({ machine: "x86", machineCode: 0x14c, pe32plus: false, subsystem: "gui" });
  });

  test("unknown machine keeps its code", () => {
    const info = parsePeHeaders(fakePe({ machine: 0x5064, magic: 0x20b }));
    expect(info.machine).toBe("unknown");
    expect(info.machineCode).toBe(0x5064);
  });

  test("rejects non-PE data with a clear message", () => {
    expect(() => parsePeHeaders(new TextEncoder().encode(`\x7fELF${"\0".repeat(100)}`), "x")).toThrow(
      'x: not a PE image (no "MZ" signature)',
    );
    const noPe = fakePe({ machine: 0x8664, magic: 0x20b });
    noPe[0x80] = 0x4e;
    expect(() => parsePeHeaders(noPe)).toThrow('no "PE\\0\\0" signature');
    const badMagic = fakePe({ machine: 0x8664, magic: 0x107 });
    expect(() => parsePeHeaders(badMagic)).toThrow("unknown optional header magic 0x107");
  });

  test("rejects truncated images", () => {
    expect(() => parsePeHeaders(new Uint8Array([0x4d, 0x5a]))).toThrow("truncated PE image");
    expect(() => parsePeHeaders(fakePe({ machine: 0x8664, magic: 0x20b }).subarray(0, 0x90))).toThrow(
      "truncated PE image",
    );
  });
});

describe("readPeInfo", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "pe-image-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("reads the headers from a file", () => {
    const path = join(dir, "a.exe");
    // Headers followed by a body larger than the 4 KiB that readPeInfo reads.
    const body = new Uint8Array(10_000);
    body.set(fakePe({ machine: 0xaa64, magic: 0x20b }));
    writeFileSync(path, body);
    expect(readPeInfo(path)).toEqual({ machine: "arm64", machineCode: 0xaa64, pe32plus: true, subsystem: "console" });
  });

  test("names the file in errors", () => {
    const path = join(dir, "empty.exe");
    writeFileSync(path, "");
    expect(() => readPeInfo(path)).toThrow(`${path}: truncated PE image`);
  });
});
