import * as v from "valibot";
import { envelope, Id, Text } from "../common.ts";

/** The closed list of error codes on the wire. */
export const ERROR_CODES = [
  "invalid_message",
  "unauthorized",
  "version_not_supported",
  "not_found",
  "conflict",
  "internal",
] as const;
export const ErrorCode = v.picklist(ERROR_CODES);
export type ErrorCode = v.InferOutput<typeof ErrorCode>;

export const ErrorPayload = v.object({
  code: ErrorCode,
  message: Text,
  ref_id: v.optional(Id),
  /**
   * Since protocol 3: whether sending the same frame again can succeed. true: a passing failure
   * of the receiver (storage); false: the frame itself is refused (invalid, unknown job).
   */
  retryable: v.optional(v.boolean()),
});
export type ErrorPayload = v.InferOutput<typeof ErrorPayload>;
export const ErrorMessage = envelope("error", ErrorPayload);
export type ErrorMessage = v.InferOutput<typeof ErrorMessage>;
