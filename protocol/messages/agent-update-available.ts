import * as v from "valibot";
import { envelope, ShortText, Text } from "../common.ts";

/** Informational: the agent never updates itself. */
export const AgentUpdateAvailablePayload = v.object({
  latest_version: ShortText,
  package_url: v.pipe(v.string(), v.url("must be a URL"), v.maxLength(2048)),
  changelog: v.optional(Text),
});
export type AgentUpdateAvailablePayload = v.InferOutput<typeof AgentUpdateAvailablePayload>;
export const AgentUpdateAvailable = envelope("agent.update_available", AgentUpdateAvailablePayload);
export type AgentUpdateAvailable = v.InferOutput<typeof AgentUpdateAvailable>;
