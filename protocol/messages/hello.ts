import * as v from "valibot";
import { Count, envelope, Id, ResticHost, ShortText, Timestamp, TimeZone } from "../common.ts";
import { ReportedHostPolicy } from "../host-policy.ts";

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
  /**
   * Since protocol 3: every job the agent holds (accepted, running, or finished with its result
   * not yet acknowledged). The server fails the jobs it believes accepted or running that are not
   * in the list: the agent lost them (its state was lost or reset).
   */
  active_job_ids: v.optional(v.pipe(v.array(Id), v.maxLength(10_000))),
  /** Since protocol 3: the host's IANA time zone, the zone of every schedule without its own. */
  timezone: v.optional(TimeZone),
  /**
   * Since protocol 4: the host's own policy (its policy file), which limits what the server may
   * ask of it; the agent enforces it, the server only shows it.
   */
  policy: v.optional(ReportedHostPolicy),
});
export type HelloPayload = v.InferOutput<typeof HelloPayload>;
export const Hello = envelope("hello", HelloPayload);
export type Hello = v.InferOutput<typeof Hello>;
