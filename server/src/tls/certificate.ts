import { createPrivateKey, X509Certificate } from "node:crypto";

/** A certificate's fingerprint as the API and `enroll --fingerprint` write it: `sha256:<hex of its DER>`. */
export function fingerprintOf(certPem: string): string {
  const fp = new X509Certificate(certPem).fingerprint256;
  return `sha256:${fp.replaceAll(":", "").toLowerCase()}`;
}

export class CertificateError extends Error {}

/**
 * Checks a PEM certificate and key before they are served: both parse, the key is the
 * certificate's, and the certificate is valid now. Errors name the file and what is wrong.
 */
export function checkCertificatePair(
  pair: { cert: string; key: string },
  files: { cert: string; key: string },
  now: Date,
): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
  } catch (err) {
    throw new CertificateError(`${files.cert} holds no PEM certificate: ${(err as Error).message}`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(pair.key);
  } catch (err) {
    throw new CertificateError(`${files.key} holds no PEM private key: ${(err as Error).message}`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new CertificateError(`${files.key} is not the private key of the certificate in ${files.cert}`);
  }
  if (new Date(cert.validTo).getTime() < now.getTime()) {
    throw new CertificateError(`the certificate in ${files.cert} expired on ${cert.validTo}: renew it`);
  }
}
