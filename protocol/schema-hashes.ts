/**
 * The recorded sha256 of the protocol's JSON Schema, per PROTOCOL_VERSION. A schema change
 * must come with a version bump: bump PROTOCOL_VERSION, add a changelog line in version.ts,
 * then record the new hash here (`bun scripts/print-schema-hash.ts`). Never edit an old line.
 */
export const SCHEMA_HASHES: Readonly<Record<number, string>> = {
  1: "be83b8afcdb384cbd5bc9aa4f0565826a69c7c8f7ee4acf22ef2806bd74aeeed",
  2: "d1a5649ed0e03b09573ae462a75f3009d5a2d88c4e2f27300cdcb33462182f8b",
  3: "769564704f3f252c8d2595586b70d2e7293a572007b81ebe749f14d066730291",
  4: "025842f4bdeef674477dda069a74d2f307b62a80b17f441535bdb02824a544a4",
  5: "849e2198c687de94f8789d782ceb3020ac481797905e3854077bcdb9702505dd",
  6: "5eacd2d2d9b583dda42d2c1bc34e0cd21f882eab9d04814763d61fd2f01d62cd",
  7: "485add285ec349d6732940de8906601729a6a7fd4daf0afc6825eb0dad7f29cf",
  8: "0f7eeb1277e3fbda2e6c660a111fae58fea0be136a01a4431e6b01f3ea979ee2",
  9: "eb4c90eb8935529c847130634890b962bdc04d6a25b05a6c57b969d6e1b91bf0",
  10: "d6c3e1d3e72c985f332febd80a1ade70088f1a7c14bd9da1c3ccc065d8b21000",
};
