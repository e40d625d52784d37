import type { Context } from "hono";
import { canonical, peerAddress, type TrustedProxies } from "./client-address.ts";

/** What the HTTP edge knows of how a request reached the server. */
export interface Transport {
  /** The request came over TLS: to this server, or to a trusted proxy that says so. */
  https(c: Context): boolean;
  /**
   * An agent's link may carry repository secrets: it is encrypted (https), the peer is this
   * machine (loopback), or the server runs with --allow-insecure-agents.
   */
  secretsAllowed(c: Context): boolean;
}

const isLoopback = (address: string | null) =>
  address !== null && (address === "::1" || /^127\.\d+\.\d+\.\d+$/.test(address));

export function transport(trusted: TrustedProxies, allowInsecureAgents: boolean): Transport {
  const https = (c: Context) => {
    if (new URL(c.req.url).protocol === "https:") return true;
    // X-Forwarded-Proto only from a proxy we believe; anyone else could just send it.
    const peer = peerAddress(c);
    return peer !== null && trusted.contains(peer) && c.req.header("X-Forwarded-Proto") === "https";
  };
  return {
    https,
    secretsAllowed: (c) => allowInsecureAgents || https(c) || isLoopback(canonical(peerAddress(c) ?? "")),
  };
}
