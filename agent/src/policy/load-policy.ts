import { readFile } from "node:fs/promises";
import { join, win32 } from "node:path";
import * as v from "valibot";
import { type HostPolicy, HostPolicyFile, type ReportedHostPolicy } from "../../../protocol/index.ts";

/** Where the packages install the policy file; `run --policy FILE` or RF_POLICY points elsewhere. */
export function defaultPolicyPath(platform: NodeJS.Platform = process.platform): string {
  if (platform === "win32") {
    return win32.join(process.env.ProgramData ?? "C:\\ProgramData", "restic-fleet-agent", "policy.json");
  }
  return "/etc/restic-fleet-agent/policy.json";
}

/** The staging folder that restores may write into by default: `restore` in the state dir. */
export function stagingFolder(stateDir: string, platform: NodeJS.Platform = process.platform): string {
  return platform === "win32" ? win32.join(stateDir, "restore") : join(stateDir, "restore");
}

/**
 * The policy of a host without a policy file, and the default of every key a file leaves out:
 * no remote hooks, restores only into the staging folder, any backup path, and the first
 * repository the host is given, until it is changed on the host.
 */
export function builtInPolicy(stateDir: string, platform: NodeJS.Platform = process.platform): HostPolicy {
  return {
    remote_hooks: false,
    restore_targets: [stagingFolder(stateDir, platform)],
    backup_paths: null,
    repositories: "first",
  };
}

export class PolicyFileError extends Error {}

export interface LoadPolicyOptions {
  stateDir: string;
  /** From --policy or RF_POLICY: then the file must exist. */
  path?: string | undefined;
  /** --no-remote-hooks / RF_NO_REMOTE_HOOKS: remote hooks stay off, whatever the file says. */
  noRemoteHooks?: boolean;
  platform?: NodeJS.Platform;
}

/**
 * The host's policy: its file over the built-in defaults. A policy file that cannot be read or
 * parsed, or that holds an unknown key or a relative path, is an error (the agent does not start):
 * a typo must not widen what the server may do, nor silently narrow it.
 */
export async function loadHostPolicy(o: LoadPolicyOptions): Promise<ReportedHostPolicy> {
  const platform = o.platform ?? process.platform;
  const path = o.path ?? defaultPolicyPath(platform);
  let text: string | null = null;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== "ENOENT" || o.path) {
      throw new PolicyFileError(
        code === "ENOENT"
          ? `policy file ${path} does not exist: create it (docs/agent.md, "Host policy") or drop --policy/RF_POLICY`
          : `cannot read the policy file ${path}: ${(err as Error).message}`,
      );
    }
  }
  const base = builtInPolicy(o.stateDir, platform);
  const policy: HostPolicy = text === null ? base : { ...base, ...parsePolicyFile(text, path, platform) };
  if (o.noRemoteHooks) policy.remote_hooks = false;
  const source = text === null ? "built-in" : path;
  return { ...policy, source: o.noRemoteHooks ? `${source} + --no-remote-hooks` : source };
}

function parsePolicyFile(text: string, path: string, platform: NodeJS.Platform): HostPolicyFile {
  let json: unknown;
  try {
    // Notepad may save UTF-8 with a byte order mark, which JSON.parse refuses.
    json = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (err) {
    throw new PolicyFileError(`policy file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = v.safeParse(HostPolicyFile, json);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const key = issue ? v.getDotPath(issue) : null;
    const problem = issue?.expected === "never" ? "is not a known key" : (issue?.message ?? "is invalid");
    throw new PolicyFileError(
      `policy file ${path}: ${key ? `"${key}" ` : ""}${problem} ` +
        '(keys: remote_hooks true|false; restore_targets, backup_paths: null or a list of absolute folders; repositories: null, "first" or a list of URL prefixes)',
    );
  }
  const absolute = platform === "win32" ? win32.isAbsolute : (p: string) => p.startsWith("/");
  for (const key of ["restore_targets", "backup_paths"] as const) {
    const bad = parsed.output[key]?.find((p) => !absolute(p));
    if (bad !== undefined) {
      throw new PolicyFileError(
        `policy file ${path}: "${key}" holds ${JSON.stringify(bad)}, which is not an absolute path`,
      );
    }
  }
  return parsed.output;
}
