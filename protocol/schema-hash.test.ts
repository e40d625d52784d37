import { expect, test } from "bun:test";
import { protocolSchemaHash } from "../scripts/protocol-json-schema.ts";
import { SCHEMA_HASHES } from "./schema-hashes.ts";
import { PROTOCOL_VERSION } from "./version.ts";

test("the wire schema matches the hash recorded for PROTOCOL_VERSION", () => {
  const recorded = SCHEMA_HASHES[PROTOCOL_VERSION];
  const current = protocolSchemaHash();
  if (recorded !== current) {
    throw new Error(
      `The protocol's JSON Schema changed (hash ${current}), but PROTOCOL_VERSION ${PROTOCOL_VERSION} ` +
        `was recorded as ${recorded ?? "nothing"}. Bump PROTOCOL_VERSION in protocol/version.ts, add a dated ` +
        "changelog line, and record the new hash in protocol/schema-hashes.ts.",
    );
  }
  expect(current).toBe(recorded as string);
});

test("every recorded version up to the current one has a hash", () => {
  for (let version = 1; version <= PROTOCOL_VERSION; version++) {
    expect(SCHEMA_HASHES[version]).toMatch(/^[0-9a-f]{64}$/);
  }
});
