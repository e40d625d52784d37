import { expect, test } from "bun:test";
import { normalizeFingerprint } from "./fingerprint.ts";

test("fingerprints in any pasted form become sha256:<lowercase hex>; anything else is refused", () => {
  const hex = "94f2f5e71c56d4e3ae6a1d0fa42bc809ae587cf90a227813dc2d8653e869ab17";
  const colons = hex.toUpperCase().match(/../g)?.join(":") ?? "";
  for (const form of [`sha256:${hex}`, `SHA256:${colons}`, colons, ` ${hex} `, `sha256=${colons}`]) {
    expect(normalizeFingerprint(form)).toBe(`sha256:${hex}`);
  }
  for (const bad of ["", "sha256:", `sha1:${hex}`, hex.slice(2), `${hex}00`, "sha256:zz"]) {
    expect(normalizeFingerprint(bad)).toBeNull();
  }
});
