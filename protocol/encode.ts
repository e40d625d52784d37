import type { AgentMessage } from "./agent-message.ts";
import type { ServerMessage } from "./server-message.ts";

export type AnyMessage = AgentMessage | ServerMessage;
export type MessageType = AnyMessage["type"];
export type PayloadOf<T extends MessageType> = Extract<AnyMessage, { type: T }>["payload"];
export type MessageOf<T extends MessageType> = Extract<AnyMessage, { type: T }>;

export interface EncodeOptions {
  /** Envelope id; a fresh UUID when absent. Pass one to re-send an outbox entry unchanged. */
  id?: string;
  /** Time source for `ts`; the real clock when absent. */
  now?: () => Date;
}

/** Builds an envelope: stamps a unique `id` and the current `ts`. */
export function envelopeOf<T extends MessageType>(
  type: T,
  payload: PayloadOf<T>,
  options: EncodeOptions = {},
): MessageOf<T> {
  const ts = (options.now?.() ?? new Date()).toISOString();
  return { type, id: options.id ?? crypto.randomUUID(), ts, payload } as MessageOf<T>;
}

/** Builds an envelope and serializes it to a JSON text frame. */
export function encode<T extends MessageType>(type: T, payload: PayloadOf<T>, options: EncodeOptions = {}): string {
  return JSON.stringify(envelopeOf(type, payload, options));
}
