import * as v from "valibot";
import { Count, envelope, ResticHost, ShortText, Timestamp } from "../common.ts";

/** First frame on every connection: who the agent is and what it runs. */
export const HelloPayload = v.object({
  protocol_version: Count,
  agent_version: ShortText,
  restic_version: ShortText,
  hostname: v.pipe(v.string(), v.minLength(1, "must not be empty"), v.maxLength(255)),
  os: v.picklist(["linux", "windows"]),
  arch: v.picklist(["amd64", "arm64"]),
  boot_time: v.optional(Timestamp),
  /**
   * Since protocol 2: the fixed name this host's snapshots carry in the repository (`--host`),
   * kept in the agent's state from enrollment. A version 1 agent leaves it out (its restic uses
   * the machine's hostname).
   */
  restic_host: v.optional(ResticHost),
});
export type HelloPayload = v.InferOutput<typeof HelloPayload>;
export const Hello = envelope("hello", HelloPayload);
export type Hello = v.InferOutput<typeof Hello>;
