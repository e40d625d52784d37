import { describe, expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { addressGroup, delayMs, LoginThrottle, type Reservation } from "./login-throttle.ts";

const slot = (r: Reservation) => {
  if (!r.ok) throw new Error(`throttled for ${r.retryAfterS} s`);
  return r.slot;
};
const fail = (th: LoginThrottle, user: string, address: string) => slot(th.reserve(user, address)).release(false);
const waitOf = (r: Reservation) => (r.ok ? 0 : r.retryAfterS);

describe("login throttle", () => {
  test("failures as one user from one address never delay that user from another address", () => {
    const clock = new ManualClock();
    const th = new LoginThrottle(clock);
    // "ADMIN" folds to "admin": the attacker's own address slows down, nobody else's.
    for (let i = 0; i < 5; i++) fail(th, "ADMIN", "203.0.113.9");
    expect(waitOf(th.reserve("admin", "203.0.113.9"))).toBe(1);
    expect(th.reserve("admin", "198.51.100.7").ok).toBe(true);
  });

  test("5 free failures per user and address, then 1 s, 2 s, 4 s, ... after each, capped at 15 min", () => {
    const clock = new ManualClock();
    const th = new LoginThrottle(clock);
    for (let i = 0; i < 5; i++) fail(th, "admin", "10.0.0.1");
    const waits: number[] = [];
    for (let n = 1; n <= 12; n++) {
      const r = th.reserve("admin", "10.0.0.1");
      waits.push(waitOf(r));
      clock.advance(delayMs(n) - 1);
      expect(th.reserve("admin", "10.0.0.1").ok).toBe(false);
      clock.advance(1);
      fail(th, "admin", "10.0.0.1");
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
  });

  test("an attempt still being checked counts: 100 at once get 5 slots, the rest are told to wait", () => {
    const th = new LoginThrottle(new ManualClock());
    const results = Array.from({ length: 100 }, () => th.reserve("admin", "10.0.0.1"));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.filter((r) => !r.ok).map(waitOf)).toEqual(Array(95).fill(1));
    // The other address is not affected by the pending ones.
    expect(th.reserve("admin", "10.0.0.2").ok).toBe(true);
  });

  test("a success releases its slot and clears its pair, but not the address", () => {
    const clock = new ManualClock();
    const th = new LoginThrottle(clock);
    for (let i = 0; i < 4; i++) fail(th, "admin", "10.0.0.1");
    slot(th.reserve("admin", "10.0.0.1")).release(true);
    for (let i = 0; i < 5; i++) fail(th, "admin", "10.0.0.1");
    expect(th.reserve("admin", "10.0.0.1").ok).toBe(false);
    // Releasing twice changes nothing.
    clock.advance(1000);
    const s = slot(th.reserve("admin", "10.0.0.1"));
    s.release(false);
    s.release(true);
    expect(waitOf(th.reserve("admin", "10.0.0.1"))).toBe(2);
  });

  test("20 failures from one address, whatever the names, slow that address only", () => {
    const th = new LoginThrottle(new ManualClock());
    for (let i = 0; i < 20; i++) fail(th, `user${i}`, "10.0.0.9");
    expect(waitOf(th.reserve("someone", "10.0.0.9"))).toBe(1);
    expect(th.reserve("someone", "10.0.0.8").ok).toBe(true);
  });

  test("at the cap an attempt every 15 minutes still goes through; an hour of quiet forgets the key", () => {
    const clock = new ManualClock();
    const th = new LoginThrottle(clock);
    for (let i = 0; i < 20; i++) {
      fail(th, "admin", "10.0.0.1");
      clock.advance(15 * 60_000);
    }
    fail(th, "admin", "10.0.0.1");
    expect(waitOf(th.reserve("admin", "10.0.0.1"))).toBe(900);
    clock.advance(60 * 60_000);
    expect(th.reserve("other", "10.0.0.2").ok).toBe(true);
    expect(th.size).toBe(2); // only the new pair and address
    for (let i = 0; i < 5; i++) fail(th, "admin", "10.0.0.1");
    expect(waitOf(th.reserve("admin", "10.0.0.1"))).toBe(1);
  });

  test("IPv6 addresses are throttled by /64, IPv4-mapped ones as IPv4", () => {
    expect(addressGroup("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(addressGroup("2001:DB8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(addressGroup("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressGroup("::1")).toBe("0:0:0:0::/64");
    expect(addressGroup("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(addressGroup("unknown")).toBe("unknown");
    const th = new LoginThrottle(new ManualClock());
    for (let i = 0; i < 5; i++) fail(th, "admin", `2001:db8:1:2::${i + 1}`);
    expect(th.reserve("admin", "2001:db8:1:2::ffff").ok).toBe(false);
    expect(th.reserve("admin", "2001:db8:1:3::1").ok).toBe(true);
  });

  test("memory stays bounded: past 100,000 keys the least recently used idle ones go", () => {
    const th = new LoginThrottle(new ManualClock());
    const held = slot(th.reserve("admin", "10.255.255.255"));
    for (let i = 0; i < 60_000; i++) fail(th, "x", `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(th.size).toBeLessThanOrEqual(100_000);
    // The attempt in flight kept its keys: releasing it still counts.
    held.release(false);
    expect(th.size).toBeLessThanOrEqual(100_000);
  });
});
