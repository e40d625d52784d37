import { X509Certificate } from "node:crypto";

/**
 * A certificate fingerprint in the one form we store and compare: `sha256:<64 lowercase hex>`.
 * Accepts what people paste: `sha256:AB:CD:…`, `AB:CD:…` (openssl's form), or bare hex. null when
 * it is not a SHA-256 fingerprint.
 */
export function normalizeFingerprint(text: string): string | null {
  const hex = text
    .trim()
    .replace(/^sha256[:=]/i, "")
    .replace(/[:\s]/g, "")
    .toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? `sha256:${hex}` : null;
}

/** The fingerprint of a certificate given as PEM or DER. */
export function fingerprintOf(cert: string | Uint8Array): string {
  const x = new X509Certificate(typeof cert === "string" ? cert : Buffer.from(cert));
  return `sha256:${x.fingerprint256.replaceAll(":", "").toLowerCase()}`;
}
