import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { connect } from "node:tls";
import { fingerprintOf, normalizeFingerprint } from "./fingerprint.ts";

/** What the agent trusts of its server's certificate, kept in its identity. */
export interface ServerTrust {
  /** Pinned fingerprints (`sha256:<hex>`): only a certificate with one of them is accepted. */
  pins?: readonly string[] | undefined;
  /** A CA certificate (PEM) to validate against, besides the system's and NODE_EXTRA_CA_CERTS. */
  ca?: string | undefined;
}

/** Bun's TLS options for fetch and WebSocket. */
export interface ClientTls {
  ca?: string | string[];
  rejectUnauthorized: true;
  checkServerIdentity?: (host: string, cert: { fingerprint256?: string }) => Error | undefined;
}

export class PinMismatch extends Error {
  constructor(
    readonly url: string,
    readonly presented: string,
    readonly pins: readonly string[],
  ) {
    super(
      `the server at ${url} presented a certificate with fingerprint ${presented}, but this agent is pinned to ` +
        `${pins.join(" or ")}: it sends nothing to it. If the server's certificate was replaced on purpose, ` +
        "enroll this host again with the new fingerprint (GET /api/v1/server-info, or the Add hosts page); " +
        "otherwise someone may be intercepting the connection",
    );
  }
}

const isLoopbackName = (host: string) =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);

/** Whether a URL's host is this machine (plain http to it crosses no network). */
export function isLoopbackUrl(url: URL): boolean {
  return isLoopbackName(url.hostname.replace(/^\[|\]$/g, ""));
}

/**
 * The server's certificate as it presents it now, from a TLS handshake that sends no data: no
 * request, no token. Only used to learn which certificate to trust; the real connection then
 * verifies against exactly that certificate, so a server that changes it in between is refused.
 */
export function presentedCertificate(url: URL, timeoutMs = 15_000): Promise<X509Certificate> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || 443);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      ...(isIP(host) ? {} : { servername: host }),
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS handshake with ${url.host} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const raw = socket.getPeerCertificate()?.raw;
      socket.destroy();
      if (!raw) reject(new Error(`the server at ${url.host} presented no certificate`));
      else resolve(new X509Certificate(raw));
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * TLS options for a connection to `url`: undefined for plain http. With pins, the certificate
 * must carry one of them (a self-signed one is then also its own CA; one from a CA must chain to
 * a trusted root or `trust.ca`); throws PinMismatch otherwise. Without pins, normal validation,
 * also against `trust.ca` when given. Verification is always on, whatever
 * NODE_TLS_REJECT_UNAUTHORIZED says.
 */
export async function tlsFor(url: URL, trust: ServerTrust): Promise<ClientTls | undefined> {
  if (url.protocol !== "https:" && url.protocol !== "wss:") return undefined;
  const pins = (trust.pins ?? []).map((p) => normalizeFingerprint(p)).filter((p): p is string => !!p);
  if (pins.length === 0) return { rejectUnauthorized: true, ...(trust.ca ? { ca: trust.ca } : {}) };
  const cert = await presentedCertificate(url);
  const presented = fingerprintOf(cert.raw);
  if (!pins.includes(presented)) throw new PinMismatch(url.origin, presented, pins);
  // Not checkIssued(): OpenSSL's issuer check also wants keyCertSign, which a server's own
  // self-signed certificate (basicConstraints CA:FALSE, digitalSignature) does not carry.
  const selfSigned = cert.issuer === cert.subject && cert.verify(cert.publicKey);
  const ca = selfSigned ? cert.toString() : trust.ca;
  return {
    rejectUnauthorized: true,
    ...(ca ? { ca } : {}),
    // Replaces the host name check: a pinned certificate is trusted by its fingerprint, whatever
    // names it carries (a self-signed one made for another name or an IP address).
    checkServerIdentity: (_host, peer) => {
      const fp = peer.fingerprint256 ? normalizeFingerprint(peer.fingerprint256) : null;
      return fp && pins.includes(fp) ? undefined : new PinMismatch(url.origin, fp ?? "none", pins);
    },
  };
}
