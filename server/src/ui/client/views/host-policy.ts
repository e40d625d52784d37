import { h } from "../dom.ts";
import type { Host } from "../types.ts";

/** Folders or prefixes in code font; "no limit" wording in plain text. */
const list = (v: string[] | null, none: string) =>
  v === null ? none : h("code", {}, v.length ? v.join(", ") : "none");

/**
 * The host's own policy, as its agent reports it: what this server may ask of the host. It is set
 * on the host (its policy file), never here.
 */
export function hostPolicyLine(host: Host): HTMLElement {
  const p = host.policy;
  if (!p) {
    return h(
      "p",
      { class: "facts policy" },
      "Host policy: not reported (the agent is older than protocol 4, or has not connected yet).",
    );
  }
  const repos = p.repositories === "first" ? "the first one only" : list(p.repositories, "any");
  return h(
    "p",
    {
      class: "facts policy",
      title: `Set on the host, in ${p.source}; a job outside it fails there, naming the setting.`,
    },
    "Host policy: hooks ",
    h("strong", {}, p.remote_hooks ? "allowed" : "off"),
    " · restores into ",
    list(p.restore_targets, "anywhere"),
    " · backups of ",
    list(p.backup_paths, "any path"),
    " · repositories: ",
    repos,
  );
}
