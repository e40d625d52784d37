import * as v from "valibot";
import { envelope, Id } from "../common.ts";

/** Interrupt a queued or running job; it finishes `cancelled`. */
export const CommandCancelPayload = v.object({ job_id: Id });
export type CommandCancelPayload = v.InferOutput<typeof CommandCancelPayload>;
export const CommandCancel = envelope("command.cancel", CommandCancelPayload);
export type CommandCancel = v.InferOutput<typeof CommandCancel>;
