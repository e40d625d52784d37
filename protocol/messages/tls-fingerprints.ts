import * as v from "valibot";
import { envelope } from "../common.ts";

/** A certificate fingerprint: `sha256:` and the lowercase hex SHA-256 of its DER. */
export const Fingerprint = v.pipe(
  v.string(),
  v.regex(/^sha256:[0-9a-f]{64}$/, "must be sha256: and 64 lowercase hex digits"),
);

/**
 * Since protocol 4, over TLS: the certificate the server presents now and, during a rotation,
 * the one it will present next. A pinned agent accepts exactly these from then on.
 */
export const TlsFingerprintsPayload = v.object({
  current: Fingerprint,
  next: v.optional(Fingerprint),
});
export type TlsFingerprintsPayload = v.InferOutput<typeof TlsFingerprintsPayload>;
export const TlsFingerprints = envelope("tls.fingerprints", TlsFingerprintsPayload);
export type TlsFingerprints = v.InferOutput<typeof TlsFingerprints>;
