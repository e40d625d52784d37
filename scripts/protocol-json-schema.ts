import { toJsonSchema } from "@valibot/to-json-schema";
import { AgentMessage } from "../protocol/agent-message.ts";
import { ServerMessage } from "../protocol/server-message.ts";

export type JsonSchema = ReturnType<typeof toJsonSchema>;

// `check` actions (e.g. "not an array") have no JSON Schema form; they are left out, and
// still enforced by valibot itself.
const options = { errorMode: "ignore" } as const;

/** JSON Schema of every message, per direction. Used by the hash test and the docs. */
export function protocolJsonSchema(): { agent: JsonSchema; server: JsonSchema } {
  return { agent: toJsonSchema(AgentMessage, options), server: toJsonSchema(ServerMessage, options) };
}

/** sha256 over the canonical JSON of both directions' schemas. */
export function protocolSchemaHash(): string {
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(JSON.stringify(protocolJsonSchema()));
  return hasher.digest("hex");
}
