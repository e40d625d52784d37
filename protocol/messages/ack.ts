import * as v from "valibot";
import { envelope, Id } from "../common.ts";

/** Envelope ids the server has durably stored; the agent drops them from its outbox. */
export const AckPayload = v.object({ ids: v.pipe(v.array(Id), v.maxLength(10_000)) });
export type AckPayload = v.InferOutput<typeof AckPayload>;
export const Ack = envelope("ack", AckPayload);
export type Ack = v.InferOutput<typeof Ack>;
