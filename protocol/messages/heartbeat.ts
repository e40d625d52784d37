import * as v from "valibot";
import { envelope, Timestamp } from "../common.ts";

/** Sent every 30 s; its arrival is the presence signal. */
export const HeartbeatPayload = v.object({ sent_at: Timestamp });
export type HeartbeatPayload = v.InferOutput<typeof HeartbeatPayload>;
export const Heartbeat = envelope("heartbeat", HeartbeatPayload);
export type Heartbeat = v.InferOutput<typeof Heartbeat>;
