import { expect, test } from "bun:test";
import { age, duration, plural, secondsBetween, took } from "./format.ts";

test("plural: one is singular, zero and many are plural, irregular words take their own plural", () => {
  expect(plural(1, "file")).toBe("1 file");
  expect(plural(0, "file")).toBe("0 files");
  expect(plural(3, "file")).toBe("3 files");
  expect(plural(12345, "file")).toBe("12,345 files");
  expect(plural(1, "directory", "directories")).toBe("1 directory");
  expect(plural(2, "directory", "directories")).toBe("2 directories");
});

test("duration: seconds, then minutes and seconds, then hours and minutes", () => {
  expect(duration(0)).toBe("0s");
  expect(duration(0.4)).toBe("0s");
  expect(duration(59.4)).toBe("59s");
  expect(duration(72)).toBe("1m 12s");
  expect(duration(184)).toBe("3m 4s");
  expect(duration(3600)).toBe("1h 0m");
  expect(duration(7380)).toBe("2h 3m");
  expect(duration(null)).toBe("–");
  expect(duration(Number.POSITIVE_INFINITY)).toBe("–");
});

test("took: what a run took, under a second said so", () => {
  expect(took(0.22)).toBe("under 1s");
  expect(took(0)).toBe("under 1s");
  expect(took(1)).toBe("1s");
  expect(took(184)).toBe("3m 4s");
  expect(took(null)).toBe("–");
});

test("secondsBetween: a finished span, a running one against now, never negative, null without a start", () => {
  const now = Date.parse("2026-12-02T10:01:12Z");
  expect(secondsBetween("2026-12-02T10:00:00Z", "2026-12-02T10:03:04Z", now)).toBe(184);
  expect(secondsBetween("2026-12-02T10:00:00Z", null, now)).toBe(72);
  expect(secondsBetween("2026-12-02T10:02:00Z", null, now)).toBe(0);
  expect(secondsBetween(null, null, now)).toBeNull();
  expect(duration(secondsBetween("2026-12-02T10:00:00Z", null, now))).toBe("1m 12s");
});

test("age ticks with the clock it is given", () => {
  const at = "2026-12-02T10:00:00Z";
  expect(age(at, Date.parse(at))).toBe("0s ago");
  expect(age(at, Date.parse(at) + 5000)).toBe("5s ago");
  expect(age(at, Date.parse(at) + 72_000)).toBe("1m ago");
});
