import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AgentMessage } from "./agent-message.ts";
import { type Decoded, decodeAgentMessage, decodeServerMessage } from "./decode.ts";
import { encode, type MessageType } from "./encode.ts";
import { EXAMPLES } from "./examples.ts";
import { ServerMessage } from "./server-message.ts";

const AGENT_TYPES = AgentMessage.options.map((o) => o.entries.type.literal);
const SERVER_TYPES = ServerMessage.options.map((o) => o.entries.type.literal);

function decoderFor(type: MessageType): (frame: string | Uint8Array) => Decoded<unknown> {
  return (AGENT_TYPES as string[]).includes(type) ? decodeAgentMessage : decodeServerMessage;
}

describe("catalogue", () => {
  test("has all 17 agent→server and 14 server→agent types", () => {
    expect(AGENT_TYPES.length).toBe(17);
    expect(SERVER_TYPES.length).toBe(14);
    expect(Object.keys(EXAMPLES).sort()).toEqual([...AGENT_TYPES, ...SERVER_TYPES].sort());
  });
});

describe("round trip: encode then decode gives the same message", () => {
  for (const type of Object.keys(EXAMPLES) as MessageType[]) {
    test(type, () => {
      const now = () => new Date("2026-11-30T12:00:00.000Z");
      const frame = encode(type, EXAMPLES[type] as never, { now, id: `id-${type}` });
      const decoded = decoderFor(type)(frame);
      if (!decoded.ok) throw new Error(decoded.error.message);
      expect(decoded.message).toEqual({
        type,
        id: `id-${type}`,
        ts: "2026-11-30T12:00:00.000Z",
        payload: EXAMPLES[type],
      });
    });
  }

  test("encode stamps a fresh uuid and the current time by default", () => {
    const a = JSON.parse(encode("heartbeat", { sent_at: "2026-11-30T12:00:00Z" }));
    const b = JSON.parse(encode("heartbeat", { sent_at: "2026-11-30T12:00:00Z" }));
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.id).not.toBe(b.id);
    expect(Number.isNaN(Date.parse(a.ts))).toBe(false);
  });

  test("the wrong direction is rejected: an agent cannot send command.run", () => {
    const frame = encode("command.run", { job_id: "j", kind: "init" });
    const decoded = decodeAgentMessage(frame);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.message).toContain('unknown message type "command.run"');
  });
});

describe("Go-shaped fixtures decode (snake_case, RFC 3339, omitted optionals)", () => {
  const dir = join(import.meta.dir, "fixtures");
  const files = readdirSync(dir).filter((f) => f.endsWith(".json"));

  test("there is one fixture per message type", () => {
    expect(files.map((f) => f.replace(/\.json$/, "")).sort()).toEqual(Object.keys(EXAMPLES).sort());
  });

  for (const file of files) {
    test(file, () => {
      const text = readFileSync(join(dir, file), "utf8");
      const type = file.replace(/\.json$/, "") as MessageType;
      const decoded = decoderFor(type)(text);
      if (!decoded.ok) throw new Error(`${file}: ${decoded.error.message}`);
      expect((decoded.message as { type: string }).type).toBe(type);
      // Decoding keeps every field the fixture had (none of them is unknown).
      expect(decoded.message).toEqual(JSON.parse(text));
    });
  }

  test("unknown fields are ignored for forward compatibility", () => {
    const frame = JSON.parse(readFileSync(join(dir, "hello.json"), "utf8"));
    frame.payload.future_field = { nested: true };
    frame.extra = 1;
    const decoded = decodeAgentMessage(JSON.stringify(frame));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) {
      expect("future_field" in decoded.message.payload).toBe(false);
      expect("extra" in decoded.message).toBe(false);
    }
  });

  test("bytes decode like text", () => {
    const text = readFileSync(join(dir, "ack.json"), "utf8");
    expect(decodeServerMessage(new TextEncoder().encode(text))).toEqual(decodeServerMessage(text));
  });
});
