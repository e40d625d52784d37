import { describe, expect, test } from "bun:test";
import { cronPreview } from "./cron.ts";
import { DomainError } from "./errors.ts";
import { createSecretBox } from "./secrets.ts";

describe("cronPreview", () => {
  const from = new Date("2026-11-30T12:00:00Z");
  test("5 fields give the next 5 runs", () => {
    expect(cronPreview("0 2 * * *", "UTC", from)).toEqual([
      "2026-12-01T02:00:00.000Z",
      "2026-12-02T02:00:00.000Z",
      "2026-12-03T02:00:00.000Z",
      "2026-12-04T02:00:00.000Z",
      "2026-12-05T02:00:00.000Z",
    ]);
  });
  test("6 fields start with seconds", () => {
    expect(cronPreview("*/10 * * * * *", null, from, 2)).toEqual([
      "2026-11-30T12:00:10.000Z",
      "2026-11-30T12:00:20.000Z",
    ]);
  });
  test("the time zone is applied and checked", () => {
    expect(cronPreview("0 2 * * *", "Europe/Berlin", from, 1)).toEqual(["2026-12-01T01:00:00.000Z"]);
    expect(() => cronPreview("0 2 * * *", "Mars/Base", from)).toThrow(/unknown time zone/);
  });
  test.each([
    ["* * * *", "5 fields"],
    ["0 0 1 1 * 2030", "Invalid value"],
    ["61 * * * *", "minute"],
    ["nonsense here x y z", "invalid cron"],
  ])("%p is refused naming the problem", (expr, text) => {
    try {
      cronPreview(expr, null, from);
      throw new Error("accepted");
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).message).toContain(text);
      expect((err as DomainError).path).toBe("cron_expr");
    }
  });
});

describe("secret box", () => {
  const box = createSecretBox(new Uint8Array(32).fill(7));
  test("round trips, with a fresh IV each time", () => {
    const a = box.seal("correct horse");
    expect(a).not.toContain("correct");
    expect(box.seal("correct horse")).not.toBe(a);
    expect(box.open(a)).toBe("correct horse");
  });
  test("a tampered value or another key fails", () => {
    const sealed = box.seal("x");
    // A character in the middle: all six of its bits are data (the last one's low bits may be
    // padding, so changing it could leave the bytes as they were).
    const i = Math.floor(sealed.length / 2) + 2;
    const flipped = `${sealed.slice(0, i)}${sealed[i] === "A" ? "B" : "A"}${sealed.slice(i + 1)}`;
    expect(() => box.open(flipped)).toThrow();
    expect(() => createSecretBox(new Uint8Array(32).fill(8)).open(sealed)).toThrow();
  });
});
