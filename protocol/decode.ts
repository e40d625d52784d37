import * as v from "valibot";
import { AgentMessage } from "./agent-message.ts";
import { FORBIDDEN_KEYS, MAX_FRAME_BYTES, MAX_JSON_DEPTH } from "./limits.ts";
import type { ErrorCode } from "./messages/error.ts";
import { ServerMessage } from "./server-message.ts";

export interface DecodeError {
  code: Extract<ErrorCode, "invalid_message">;
  message: string;
  /** Dot path of the offending field, such as `payload.lines.0.seq`. */
  path?: string;
  /** The envelope id, when the frame had a readable one, so the error can refer to it. */
  ref_id?: string;
}

export type Decoded<T> = { ok: true; message: T } | { ok: false; error: DecodeError };

const encoder = new TextEncoder();

function fail(message: string, path?: string, ref_id?: string): { ok: false; error: DecodeError } {
  const error: DecodeError = { code: "invalid_message", message };
  if (path !== undefined) error.path = path;
  if (ref_id !== undefined) error.ref_id = ref_id;
  return { ok: false, error };
}

function byteLength(frame: string | Uint8Array): number {
  if (typeof frame !== "string") return frame.byteLength;
  // A UTF-8 char is at most 3 bytes per UTF-16 unit, so short strings skip the encode.
  if (frame.length * 3 <= MAX_FRAME_BYTES) return frame.length;
  return frame.length > MAX_FRAME_BYTES ? frame.length : encoder.encode(frame).byteLength;
}

/** Walks the parsed value without recursion; reports the first too-deep or forbidden spot. */
function checkShape(root: unknown): { message: string; path: string } | null {
  const stack: Array<{ value: unknown; path: string[] }> = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop() as { value: unknown; path: string[] };
    if (value === null || typeof value !== "object") continue;
    if (path.length >= MAX_JSON_DEPTH) {
      return { message: `is nested deeper than ${MAX_JSON_DEPTH} levels`, path: path.join(".") };
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) {
        return { message: `key "${key}" is not allowed`, path: [...path, key].join(".") };
      }
      stack.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return null;
}

function readId(value: unknown): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const id = (value as Record<string, unknown>).id;
  return typeof id === "string" && id.length > 0 && id.length <= 200 ? id : undefined;
}

function describe(issue: v.BaseIssue<unknown>, value: unknown): string {
  const path = v.getDotPath(issue);
  if (path === "type") {
    const type = (value as Record<string, unknown>).type;
    return typeof type === "string" ? `unknown message type "${type.slice(0, 64)}"` : "type must be a string";
  }
  // Variant failures on a nested discriminator read better with the expected values spelled out.
  return `${path ?? "frame"}: ${issue.message}`;
}

function decodeWith<S extends v.GenericSchema>(schema: S, frame: string | Uint8Array): Decoded<v.InferOutput<S>> {
  try {
    const size = byteLength(frame);
    if (size > MAX_FRAME_BYTES) return fail(`frame is ${size} bytes; the limit is ${MAX_FRAME_BYTES}`);
    const text = typeof frame === "string" ? frame : new TextDecoder("utf-8", { fatal: true }).decode(frame);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return fail(`frame is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return fail("frame must be a JSON object with type, id, ts and payload");
    }
    const refId = readId(value);
    const bad = checkShape(value);
    if (bad) return fail(`${bad.path}: ${bad.message}`, bad.path, refId);
    const result = v.safeParse(schema, value, { abortPipeEarly: true });
    if (result.success) return { ok: true, message: result.output };
    const issue = result.issues[0];
    return fail(describe(issue, value), v.getDotPath(issue) ?? undefined, refId);
  } catch (err) {
    // Nothing in here should throw; if something does, the frame is still only "invalid".
    return fail(`frame could not be decoded: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Decodes a frame the server received from an agent. Never throws. */
export function decodeAgentMessage(frame: string | Uint8Array): Decoded<AgentMessage> {
  return decodeWith(AgentMessage, frame);
}

/** Decodes a frame the agent received from the server. Never throws. */
export function decodeServerMessage(frame: string | Uint8Array): Decoded<ServerMessage> {
  return decodeWith(ServerMessage, frame);
}
