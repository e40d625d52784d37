import { X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CertificateError, checkCertificatePair, fingerprintOf } from "./certificate.ts";
import { selfSignedCertificate } from "./self-signed.ts";

/** Where the server's certificate comes from: `--tls-cert/--tls-key`, or `--tls self-signed`. */
export type TlsSetting =
  | { mode: "files"; certFile: string; keyFile: string; nextCertFile?: string | undefined }
  | { mode: "self-signed"; dataDir: string; names: readonly string[] };

/** What the server serves now, and the fingerprint it announces as its next certificate. */
export interface ServedTls {
  cert: string;
  key: string;
  /** `sha256:<hex>` of the certificate's DER. */
  fingerprint: string;
  /** The next certificate's, during a rotation (its file exists); else null. */
  next: string | null;
  certFile: string;
}

/** The self-signed certificate's files in the data directory; `next-cert.pem` during a rotation. */
export function selfSignedFiles(dataDir: string) {
  const dir = join(dataDir, "tls");
  return {
    dir,
    cert: join(dir, "cert.pem"),
    key: join(dir, "key.pem"),
    nextCert: join(dir, "next-cert.pem"),
    nextKey: join(dir, "next-key.pem"),
  };
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new CertificateError(`cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
}

/** Writes a certificate and its key (the key 0600), making the folder (0700) if needed. */
export function writePair(files: { cert: string; key: string; dir: string }, pair: { cert: string; key: string }) {
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  writeFileSync(files.key, pair.key, { mode: 0o600 });
  chmodSync(files.key, 0o600);
  writeFileSync(files.cert, pair.cert, { mode: 0o644 });
}

/**
 * Loads (and checks) the certificate to serve. `--tls self-signed` makes one the first time, for
 * `names`, and keeps it in the data directory: agents pin it, so it must survive restarts.
 */
export async function loadServedTls(setting: TlsSetting, now: Date): Promise<ServedTls> {
  let certFile: string;
  let keyFile: string;
  let nextFile: string | undefined;
  if (setting.mode === "self-signed") {
    const files = selfSignedFiles(setting.dataDir);
    if (!existsSync(files.cert) || !existsSync(files.key)) {
      writePair(files, await selfSignedCertificate(setting.names, now));
    }
    ({ cert: certFile, key: keyFile, nextCert: nextFile } = files);
  } else {
    ({ certFile, keyFile, nextCertFile: nextFile } = setting);
  }
  const pair = { cert: read(certFile, "certificate"), key: read(keyFile, "private key") };
  checkCertificatePair(pair, { cert: certFile, key: keyFile }, now);
  let next: string | null = null;
  if (nextFile && existsSync(nextFile)) {
    const text = read(nextFile, "next certificate");
    try {
      new X509Certificate(text);
    } catch (err) {
      throw new CertificateError(`${nextFile} holds no PEM certificate: ${(err as Error).message}`);
    }
    next = fingerprintOf(text);
  }
  return { ...pair, fingerprint: fingerprintOf(pair.cert), next, certFile };
}

/** The names a self-signed certificate was made for (its subjectAltName), for a warning on mismatch. */
export function certificateNames(certPem: string): string[] {
  const alt = new X509Certificate(certPem).subjectAltName ?? "";
  return alt
    .split(/,\s*/)
    .map((s) => s.replace(/^(DNS|IP Address):/, ""))
    .filter(Boolean);
}
