import * as v from "valibot";
import { envelope, ShortText, Text } from "../common.ts";

/** Repository settings for the agent. An absent or empty field means "leave as is". */
export const ConfigUpdatePayload = v.object({
  repo_url: v.optional(Text),
  repo_password: v.optional(Text),
  repo_username: v.optional(Text),
  repo_credential: v.optional(Text),
  hook_shell: v.optional(ShortText),
});
export type ConfigUpdatePayload = v.InferOutput<typeof ConfigUpdatePayload>;
export const ConfigUpdate = envelope("config.update", ConfigUpdatePayload);
export type ConfigUpdate = v.InferOutput<typeof ConfigUpdate>;
