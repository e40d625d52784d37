import { expect, test } from "bun:test";
import { clipBytes, headerValue } from "./ntfy.ts";
import { clip, detailOf, MAX_DETAIL, redact, urlSecrets } from "./result.ts";

test("clip keeps within the limit and never splits a surrogate pair", () => {
  expect(clip("short", 10)).toBe("short");
  expect(clip("abcdefghij", 5)).toBe("abcd…");
  const s = `${"a".repeat(3)}😀😀`; // the emoji are two UTF-16 units each
  const cut = clip(s, 5);
  expect(cut.length).toBeLessThanOrEqual(5);
  expect(cut).toBe("aaa…");
  expect(() => encodeURIComponent(cut)).not.toThrow(); // a lone surrogate would throw
});

test("redact removes every secret, the longest first", () => {
  const url = "https://hooks.slack.com/services/T0/B0/SECRET";
  expect(redact(`posting to ${url} failed; path /services/T0/B0/SECRET`, urlSecrets(url))).toBe(
    "posting to [redacted] failed; path [redacted]",
  );
  expect(redact("token tk_1 and tk_1 again", ["tk_1", ""])).toBe("token [redacted] and [redacted] again");
});

test("detailOf flattens, redacts and clips", () => {
  const d = detailOf(`500: ${"x".repeat(1000)}\nsecret=abc`, ["abc"]);
  expect(d.length).toBe(MAX_DETAIL);
  expect(d).not.toContain("\n");
  expect(detailOf("a\r\nb secret=abc", ["abc"])).toBe("a b secret=[redacted]");
});

test("ntfy headers: ASCII as is, anything else as RFC 2047", () => {
  expect(headerValue("Firing: 1 host")).toBe("Firing: 1 host");
  expect(headerValue("a — b")).toBe(`=?UTF-8?B?${Buffer.from("a — b").toString("base64")}?=`);
  expect(headerValue("a\r\nb")).toBe("a b");
});

test("ntfy body clipped to whole UTF-8 characters", () => {
  const s = "é".repeat(10); // 2 bytes each
  const cut = clipBytes(s, 8);
  expect(new TextEncoder().encode(cut).byteLength).toBeLessThanOrEqual(8);
  expect(cut).toBe("éé…");
  expect(clipBytes("abc", 8)).toBe("abc");
});
