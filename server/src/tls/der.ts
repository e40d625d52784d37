/**
 * The few DER (ASN.1) encodings a self-signed X.509 certificate needs: enough to build one
 * with WebCrypto alone, so the server makes its certificate without openssl on the machine.
 */
export function tlv(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  if (n > 0xffff) throw new Error("DER value too long");
  const out = new Uint8Array(1 + len.length + n);
  out.set([tag, ...len]);
  out.set(body, 1 + len.length);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
}

export const sequence = (...parts: Uint8Array[]) => tlv(0x30, concat(...parts));
export const set = (...parts: Uint8Array[]) => tlv(0x31, concat(...parts));
export const utf8String = (s: string) => tlv(0x0c, new TextEncoder().encode(s));
export const octetString = (b: Uint8Array) => tlv(0x04, b);
export const bitString = (b: Uint8Array) => tlv(0x03, concat(new Uint8Array([0]), b));
export const explicit = (n: number, inner: Uint8Array) => tlv(0xa0 + n, inner);
export const TRUE = tlv(0x01, new Uint8Array([0xff]));

/** A non-negative INTEGER from big-endian bytes (leading zeros dropped, a sign byte added). */
export function integer(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const b = bytes.slice(i);
  return tlv(0x02, (b[0] ?? 0) & 0x80 ? concat(new Uint8Array([0]), b) : b);
}

export function objectId(dotted: string): Uint8Array {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (const v of rest) {
    const group = [v & 0x7f];
    for (let x = v >>> 7; x; x >>>= 7) group.unshift((x & 0x7f) | 0x80);
    out.push(...group);
  }
  return tlv(0x06, new Uint8Array(out));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 §4.1.2.5). */
export function time(d: Date): Uint8Array {
  const s = `${d.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
  const text = new TextEncoder();
  return d.getUTCFullYear() < 2050 ? tlv(0x17, text.encode(s.slice(2))) : tlv(0x18, text.encode(s));
}

export function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der)
    .toString("base64")
    .replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.replace(/\n$/, "")}\n-----END ${label}-----\n`;
}
