// A small zip writer (deflate via node:zlib) for the Chocolatey .nupkg, and a reader for its tests.
// Plain PKZIP 2.0: no zip64 (a .nupkg here is ~110 MB, far from the 4 GiB limit), no data
// descriptors (sizes are known before each local header is written), ASCII names, no directory
// entries (NuGet's own packages have none either).
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { promisify } from "node:util";
import { crc32, deflateRaw, inflateRawSync } from "node:zlib";

const deflateRawAsync = promisify(deflateRaw);

export interface ZipInput {
  /** entry name with "/" separators, e.g. "tools/chocolateyInstall.ps1" */
  name: string;
  data: Uint8Array;
}

const LIMIT = 0xffffffff;

/** MS-DOS date and time words for `date` (local time, 2-second resolution, 1980..2107). */
function dosDateTime(date: Date): { time: number; date: number } {
  const year = Math.min(Math.max(date.getFullYear(), 1980), 2107);
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

/**
 * Writes `entries` to a new zip file at `path`, in the given order. Non-empty entries are deflated
 * (all at once, so zlib's thread pool compresses the two ~110 MB executables in parallel).
 */
export async function writeZip(path: string, entries: ZipInput[], mtime = new Date()): Promise<void> {
  const names = new Set<string>();
  for (const e of entries) {
    if (!/^[\x21-\x7e]+$/.test(e.name) || e.name.startsWith("/") || e.name.includes("\\")) {
      throw new Error(`zip entry name must be printable ASCII with "/" separators: ${JSON.stringify(e.name)}`);
    }
    if (names.has(e.name.toLowerCase())) throw new Error(`duplicate zip entry ${e.name}`);
    names.add(e.name.toLowerCase());
    if (e.data.byteLength >= LIMIT) throw new Error(`${e.name} is too large for a zip without zip64`);
  }
  const compressed = await Promise.all(
    entries.map(async (e) => (e.data.byteLength === 0 ? null : new Uint8Array(await deflateRawAsync(e.data)))),
  );
  const dos = dosDateTime(mtime);
  const fd = openSync(path, "w");
  try {
    let offset = 0;
    const put = (b: Uint8Array) => {
      writeSync(fd, b);
      offset += b.byteLength;
    };
    const central: Uint8Array[] = [];
    entries.forEach((e, i) => {
      const packed = compressed[i] ?? null;
      const method = packed ? 8 : 0;
      const body = packed ?? e.data;
      const crc = crc32(e.data);
      const name = new TextEncoder().encode(e.name);
      const local = new Uint8Array(30 + name.byteLength);
      const lv = new DataView(local.buffer);
      lv.setUint32(0, 0x04034b50, true);
      lv.setUint16(4, 20, true); // version needed: 2.0 (deflate)
      lv.setUint16(6, 0, true); // flags
      lv.setUint16(8, method, true);
      lv.setUint16(10, dos.time, true);
      lv.setUint16(12, dos.date, true);
      lv.setUint32(14, crc, true);
      lv.setUint32(18, body.byteLength, true);
      lv.setUint32(22, e.data.byteLength, true);
      lv.setUint16(26, name.byteLength, true);
      lv.setUint16(28, 0, true);
      local.set(name, 30);
      const headerOffset = offset;
      if (headerOffset >= LIMIT) throw new Error("zip too large without zip64");
      put(local);
      put(body);

      const cd = new Uint8Array(46 + name.byteLength);
      const cv = new DataView(cd.buffer);
      cv.setUint32(0, 0x02014b50, true);
      cv.setUint16(4, 20, true); // made by: MS-DOS, spec 2.0 (no Unix modes, as NuGet writes them)
      cv.setUint16(6, 20, true);
      cv.setUint16(8, 0, true);
      cv.setUint16(10, method, true);
      cv.setUint16(12, dos.time, true);
      cv.setUint16(14, dos.date, true);
      cv.setUint32(16, crc, true);
      cv.setUint32(20, body.byteLength, true);
      cv.setUint32(24, e.data.byteLength, true);
      cv.setUint16(28, name.byteLength, true);
      // extra length, comment length, disk number, internal attributes, external attributes: all 0
      cv.setUint32(42, headerOffset, true);
      cd.set(name, 46);
      central.push(cd);
    });
    const cdOffset = offset;
    for (const cd of central) put(cd);
    const cdSize = offset - cdOffset;
    if (offset >= LIMIT || entries.length > 0xffff) throw new Error("zip too large without zip64");
    const end = new Uint8Array(22);
    const ev = new DataView(end.buffer);
    ev.setUint32(0, 0x06054b50, true);
    ev.setUint16(8, entries.length, true);
    ev.setUint16(10, entries.length, true);
    ev.setUint32(12, cdSize, true);
    ev.setUint32(16, cdOffset, true);
    put(end);
  } finally {
    closeSync(fd);
  }
}

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** the uncompressed bytes, checked against the CRC */
  read(): Uint8Array;
}

/** Lists a zip's entries from its central directory (for tests; reads the whole file). */
export function readZip(path: string): ZipEntry[] {
  const buf = readFileSync(path);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.byteLength - 22; i >= Math.max(0, buf.byteLength - 22 - 0xffff); i--) {
    if (v.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${path}: no end of central directory record`);
  const count = v.getUint16(eocd + 10, true);
  let p = v.getUint32(eocd + 16, true);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (v.getUint32(p, true) !== 0x02014b50) throw new Error(`${path}: bad central directory entry ${i}`);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    const compressedSize = v.getUint32(p + 20, true);
    const size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    const local = v.getUint32(p + 42, true);
    const name = new TextDecoder().decode(buf.subarray(p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
    entries.push({
      name,
      method,
      crc,
      compressedSize,
      size,
      read() {
        if (v.getUint32(local, true) !== 0x04034b50) throw new Error(`${path}: bad local header for ${name}`);
        const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
        const raw = buf.subarray(start, start + compressedSize);
        const data = method === 8 ? new Uint8Array(inflateRawSync(raw)) : method === 0 ? raw : null;
        if (!data) throw new Error(`${path}: ${name} uses unsupported method ${method}`);
        if (data.byteLength !== size || crc32(data) !== crc) throw new Error(`${path}: ${name} fails its CRC check`);
        return data;
      },
    });
  }
  return entries;
}
