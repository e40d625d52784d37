import * as v from "valibot";
import { envelope, Id, Text } from "../common.ts";

/** The agent accepted (and persisted) or refused a `command.run`. Not completion. */
export const CommandResultPayload = v.object({
  job_id: Id,
  accepted: v.boolean(),
  error: v.optional(Text),
});
export type CommandResultPayload = v.InferOutput<typeof CommandResultPayload>;
export const CommandResult = envelope("command.result", CommandResultPayload);
export type CommandResult = v.InferOutput<typeof CommandResult>;
