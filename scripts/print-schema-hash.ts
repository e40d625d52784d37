// Prints the protocol's current schema hash, to record in protocol/schema-hashes.ts after a bump.
import { protocolSchemaHash } from "./protocol-json-schema.ts";

console.log(protocolSchemaHash());
