import { BlockList, isIP } from "node:net";
import type { Context } from "hono";
import { getConnInfo } from "hono/bun";
import type { Logger } from "../log.ts";

/** The address ranges whose X-Forwarded-For is believed (`serve --trusted-proxy`). */
export interface TrustedProxies {
  readonly cidrs: readonly string[];
  contains(address: string): boolean;
}

/**
 * Parses CIDRs such as `10.0.0.0/8`, `2001:db8::/32` or a single address (`127.0.0.1`, which
 * means /32; `::1` means /128). Throws naming the first entry that is not one.
 */
export function parseTrustedProxies(cidrs: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const raw of cidrs) {
    const cidr = raw.trim();
    const [net = "", prefix, extra] = cidr.split("/");
    const family = isIP(net);
    const max = family === 6 ? 128 : 32;
    const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
    if (!family || extra !== undefined || !(bits >= 0 && bits <= max)) {
      throw new Error(`--trusted-proxy must be an IPv4 or IPv6 address or CIDR, e.g. 10.0.0.0/8 or ::1; got "${raw}"`);
    }
    list.addSubnet(canonical(net) ?? net, bits, family === 6 ? "ipv6" : "ipv4");
  }
  return {
    cidrs: [...cidrs],
    contains(address) {
      const a = canonical(address);
      return a !== null && list.check(a, isIP(a) === 6 ? "ipv6" : "ipv4");
    },
  };
}

/**
 * An address as one form: no brackets, port or zone, lower case, and an IPv4-mapped IPv6
 * address (what a dual-stack socket reports) as its IPv4 address. null when it is not one.
 */
export function canonical(text: string): string | null {
  let a = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1] as string;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(":"));
  a = (a.split("%")[0] ?? "").toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) a = mapped[1] as string;
  return isIP(a) ? a : null;
}

/**
 * The client's address. The TCP peer is the client unless it is a trusted proxy; then
 * X-Forwarded-For is read from the right, past every trusted hop, and the first untrusted one
 * is the client (the hops left of it are whatever the client chose to send). An entry that is
 * not an address ends the walk at the trusted hop before it.
 */
export function resolveClientAddress(
  peer: string | null,
  forwardedFor: string | null,
  trusted: TrustedProxies,
): string {
  const from = peer === null ? null : canonical(peer);
  if (from === null) return peer ?? "unknown";
  if (!forwardedFor || !trusted.contains(from)) return from;
  let client = from;
  const hops = forwardedFor.split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = canonical(hops[i] as string);
    if (hop === null) break;
    client = hop;
    if (!trusted.contains(hop)) break;
  }
  return client;
}

/** The socket's peer address from Bun's server (the fetch's env); null without one (app.request). */
export function peerAddress(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null;
  }
}

/**
 * For the routes: the client address of a request. Warns once when X-Forwarded-For arrives from
 * a peer it is not believed from, which is what a reverse proxy missing from --trusted-proxy looks
 * like: every client would share the proxy's address, and its login throttle.
 */
export function clientAddressOf(trusted: TrustedProxies, log: Logger): (c: Context) => string {
  let warned = false;
  return (c) => {
    const peer = peerAddress(c);
    const forwarded = c.req.header("X-Forwarded-For") ?? null;
    if (forwarded && !warned && peer !== null && !trusted.contains(peer)) {
      warned = true;
      log.warn("ignoring X-Forwarded-For from a peer that is not a trusted proxy", {
        peer,
        hint: `if a reverse proxy runs there, start the server with --trusted-proxy ${canonical(peer) ?? peer}`,
      });
    }
    return resolveClientAddress(peer, forwarded, trusted);
  };
}
