import { describe, expect, test } from "bun:test";
import { canonical, parseTrustedProxies, resolveClientAddress } from "./client-address.ts";

describe("trusted proxies", () => {
  test("IPv4 and IPv6 CIDRs and single addresses; anything else is refused by name", () => {
    const t = parseTrustedProxies(["10.0.0.0/8", "192.168.1.5", "fd00::/8", "::1"]);
    expect(["10.200.3.4", "192.168.1.5", "fd12::7", "::1", "::ffff:10.1.1.1", "[::1]:8080"].map(t.contains)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(["11.0.0.1", "192.168.1.6", "fe80::1", "::2", "unknown", ""].map(t.contains)).toEqual(Array(6).fill(false));
    for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/8/1", "proxy.local", "10.0.0.0/", "10.0.0.0/x", ""]) {
      expect(() => parseTrustedProxies([bad])).toThrow(`got "${bad}"`);
    }
    expect(parseTrustedProxies([]).contains("127.0.0.1")).toBe(false);
  });

  test("addresses are compared in one form: no port, brackets or zone; IPv4-mapped as IPv4", () => {
    expect(canonical("203.0.113.9:4711")).toBe("203.0.113.9");
    expect(canonical(" [2001:DB8::1]:443 ")).toBe("2001:db8::1");
    expect(canonical("fe80::1%eth0")).toBe("fe80::1");
    expect(canonical("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(canonical("unknown")).toBeNull();
  });

  test("X-Forwarded-For is read from the right, past trusted hops, and only from a trusted peer", () => {
    const t = parseTrustedProxies(["10.0.0.0/8"]);
    const client = (peer: string | null, xff: string | null) => resolveClientAddress(peer, xff, t);
    expect(client("203.0.113.9", "192.0.2.1")).toBe("203.0.113.9");
    expect(client("10.0.0.1", null)).toBe("10.0.0.1");
    expect(client("10.0.0.1", "192.0.2.1")).toBe("192.0.2.1");
    // The client wrote "1.1.1.1" itself; the proxies appended the rest.
    expect(client("10.0.0.1", "1.1.1.1, 198.51.100.7, 10.0.0.9")).toBe("198.51.100.7");
    expect(client("::ffff:10.0.0.1", "198.51.100.7:5555")).toBe("198.51.100.7");
    // Every hop trusted: the leftmost is the client. A hop that is not an address ends the walk.
    expect(client("10.0.0.1", "10.0.0.3, 10.0.0.2")).toBe("10.0.0.3");
    expect(client("10.0.0.1", "198.51.100.7, garbage, 10.0.0.2")).toBe("10.0.0.2");
    expect(client("10.0.0.1", "")).toBe("10.0.0.1");
    expect(client(null, "192.0.2.1")).toBe("unknown");
  });
});
