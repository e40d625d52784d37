import { isIP } from "node:net";
import {
  bitString,
  explicit,
  integer,
  objectId,
  octetString,
  pem,
  sequence,
  set,
  TRUE,
  time,
  tlv,
  utf8String,
} from "./der.ts";

const ECDSA_SHA256 = "1.2.840.10045.4.3.2";

/** The 16 bytes of an IPv4 or IPv6 address, as a subjectAltName iPAddress holds them. */
function ipBytes(ip: string): Uint8Array {
  if (isIP(ip) === 4) return new Uint8Array(ip.split(".").map(Number));
  const [head = "", tail = ""] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = ip.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  return new Uint8Array(groups.flatMap((g) => [Number.parseInt(g, 16) >> 8, Number.parseInt(g, 16) & 0xff]));
}

/**
 * A self-signed ECDSA P-256 server certificate for `names` (host names and IP addresses, all in
 * its subjectAltName; the first is also its common name): not a CA (basicConstraints CA:FALSE),
 * for server authentication only, valid for `days` from a minute ago. PEM certificate and PKCS#8 key.
 */
export async function selfSignedCertificate(
  names: readonly string[],
  now: Date,
  days = 825,
): Promise<{ cert: string; key: string }> {
  if (names.length === 0) throw new Error("a certificate needs at least one name");
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const algorithm = sequence(objectId(ECDSA_SHA256));
  const subject = sequence(set(sequence(objectId("2.5.4.3"), utf8String(names[0] ?? ""))));
  const from = new Date(now.getTime() - 60_000);
  const until = new Date(from.getTime() + days * 86_400_000);
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const altNames = sequence(
    ...names.map((n) => (isIP(n) ? tlv(0x87, ipBytes(n)) : tlv(0x82, new TextEncoder().encode(n)))),
  );
  const extension = (id: string, critical: boolean, value: Uint8Array) =>
    sequence(objectId(id), ...(critical ? [TRUE] : []), octetString(value));
  const extensions = explicit(
    3,
    sequence(
      extension("2.5.29.17", false, altNames),
      extension("2.5.29.19", true, sequence()), // basicConstraints: not a CA
      extension("2.5.29.15", true, tlv(0x03, new Uint8Array([0x07, 0x80]))), // keyUsage: digitalSignature
      extension("2.5.29.37", false, sequence(objectId("1.3.6.1.5.5.7.3.1"))), // extKeyUsage: serverAuth
    ),
  );
  const tbs = sequence(
    explicit(0, integer(new Uint8Array([2]))), // v3
    integer(serial),
    algorithm,
    subject,
    sequence(time(from), time(until)),
    subject,
    spki,
    extensions,
  );
  // WebCrypto signs as r‖s (IEEE P1363); X.509 wants the DER SEQUENCE { r, s }.
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, tbs as Uint8Array<ArrayBuffer>),
  );
  const signature = sequence(integer(raw.slice(0, 32)), integer(raw.slice(32)));
  const der = sequence(tbs, algorithm, bitString(signature));
  return { cert: pem("CERTIFICATE", der), key: pem("PRIVATE KEY", pkcs8) };
}
