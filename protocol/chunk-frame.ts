import * as v from "valibot";
import { Id } from "./common.ts";
import type { Decoded } from "./decode.ts";
import { MAX_CHUNK_BYTES } from "./messages/download.ts";

/**
 * `download.chunk` travels as a BINARY WebSocket frame, the one frame of the protocol that is not
 * JSON text (since protocol 7): base64 inside JSON cost the server and the agent four copies
 * and about 2.5 MB of garbage per 512 KiB, and halved a download's throughput (bench 9). Layout:
 *
 *   byte 0        0x01, this frame's tag (a JSON text frame never starts with it)
 *   bytes 1-4     seq, unsigned 32-bit big-endian (0, 1, 2...)
 *   byte 5        n, the length of request_id in bytes (1..200)
 *   bytes 6..6+n  request_id, UTF-8
 *   the rest      the chunk's bytes (at most MAX_CHUNK_BYTES)
 */
export const CHUNK_FRAME_TAG = 0x01;
const HEADER = 6;

/** A download.chunk as the receiver sees it: the bytes themselves, no base64. */
export interface DownloadChunkFrame {
  type: "download.chunk";
  payload: { request_id: string; seq: number; bytes: Uint8Array };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeChunkFrame(requestId: string, seq: number, bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const id = encoder.encode(requestId);
  if (id.length < 1 || id.length > 200) throw new Error("request_id must be 1 to 200 bytes");
  if (bytes.length > MAX_CHUNK_BYTES) throw new Error(`a chunk holds at most ${MAX_CHUNK_BYTES} bytes`);
  const frame = new Uint8Array(HEADER + id.length + bytes.length);
  const view = new DataView(frame.buffer);
  frame[0] = CHUNK_FRAME_TAG;
  view.setUint32(1, seq >>> 0);
  frame[5] = id.length;
  frame.set(id, HEADER);
  frame.set(bytes, HEADER + id.length);
  return frame;
}

/** Whether a frame is a binary chunk frame (else it is JSON text, decoded as usual). */
export function isChunkFrame(frame: string | Uint8Array | ArrayBuffer): frame is Uint8Array | ArrayBuffer {
  if (typeof frame === "string") return false;
  const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
  return bytes.length > 0 && bytes[0] === CHUNK_FRAME_TAG;
}

/** Decodes a chunk frame; the bytes are a view into the frame (no copy). */
export function decodeChunkFrame(frame: Uint8Array | ArrayBuffer): Decoded<DownloadChunkFrame> {
  const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
  const fail = (message: string) => ({ ok: false as const, error: { code: "invalid_message" as const, message } });
  if (bytes.length < HEADER + 1 || bytes[0] !== CHUNK_FRAME_TAG) return fail("download.chunk frame: too short");
  const idLength = bytes[5] as number;
  if (idLength < 1 || bytes.length < HEADER + idLength) return fail("download.chunk frame: bad request_id length");
  let requestId: string;
  try {
    requestId = decoder.decode(bytes.subarray(HEADER, HEADER + idLength));
  } catch {
    return fail("download.chunk frame: request_id is not UTF-8");
  }
  if (!v.is(Id, requestId)) return fail("download.chunk frame: bad request_id");
  const data = bytes.subarray(HEADER + idLength);
  if (data.length > MAX_CHUNK_BYTES) {
    return fail(`download.chunk frame: ${data.length} bytes; a chunk holds at most ${MAX_CHUNK_BYTES}`);
  }
  const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1);
  return { ok: true, message: { type: "download.chunk", payload: { request_id: requestId, seq, bytes: data } } };
}
