import { realpath } from "node:fs/promises";
import { posix, win32 } from "node:path";
import type { ReportedHostPolicy } from "../../../protocol/index.ts";
import { urlPasswordForms } from "../log.ts";

/** What a job asks of the host that its policy limits. */
export interface PolicyRequest {
  hooks: boolean;
  /** A backup of a command's output (stdin_command): a command the agent runs, as a hook is. */
  stdinCommand?: boolean;
  restoreTarget?: string;
  backupPaths?: readonly string[];
  repoUrl: string;
}

/** The repository a host with `repositories: "first"` is pinned to, kept in its identity. */
export interface RepositoryPin {
  url: string;
  pinned_at: string;
}

/**
 * Why this host's own policy refuses the request, naming the local setting and how to change
 * it, or null when it allows it. Paths are compared after resolving symbolic links, so a link
 * inside an allowed folder does not lead a restore or a backup out of it.
 */
export async function policyRefusal(
  req: PolicyRequest,
  policy: ReportedHostPolicy,
  pin: RepositoryPin | null,
  platform: NodeJS.Platform = process.platform,
): Promise<string | null> {
  const refuse = (what: string) =>
    `refused by this host's policy (${policy.source}): ${what}. Only the host's administrator can change this, in that file`;
  if (req.hooks && !policy.remote_hooks) return refuse("remote_hooks is false, so jobs may not carry pre/post hooks");
  if (req.stdinCommand && !policy.remote_hooks) {
    return refuse("remote_hooks is false, so jobs may not run a stdin command (stdin_command)");
  }
  const repo = repositoryProblem(req.repoUrl, policy, pin);
  if (repo) return refuse(repo);
  if (req.restoreTarget !== undefined && policy.restore_targets) {
    if (!(await within(req.restoreTarget, policy.restore_targets, platform))) {
      return refuse(
        `restore target ${JSON.stringify(req.restoreTarget)} is not inside restore_targets ${JSON.stringify(policy.restore_targets)}`,
      );
    }
  }
  if (req.backupPaths && policy.backup_paths) {
    for (const p of req.backupPaths) {
      if (!(await within(p, policy.backup_paths, platform))) {
        return refuse(
          `backup path ${JSON.stringify(p)} is not inside backup_paths ${JSON.stringify(policy.backup_paths)}`,
        );
      }
    }
  }
  return null;
}

function repositoryProblem(url: string, policy: ReportedHostPolicy, pin: RepositoryPin | null): string | null {
  const { repositories } = policy;
  if (repositories === null) return null;
  if (repositories === "first") {
    if (!pin || pin.url === url) return null;
    return (
      `repository ${displayUrl(url)} is not the one this host is pinned to (repositories is "first": ` +
      `${displayUrl(pin.url)}, since ${pin.pinned_at}); to move the host, list the new URL in repositories ` +
      "or run 'restic-fleet-agent policy --reset-pin' on it"
    );
  }
  if (repositories.some((prefix) => url.startsWith(prefix))) return null;
  return `repository ${displayUrl(url)} does not start with one of repositories ${JSON.stringify(repositories)}`;
}

/** A repository URL without the password it may carry (`rest:https://user:pw@host/`). */
export function displayUrl(url: string): string {
  const [password] = urlPasswordForms(url);
  return password ? url.replace(`:${password}@`, ":***@") : url;
}

/** Whether `path` lies inside (or is) one of `prefixes`, each side with its links resolved. */
export async function within(path: string, prefixes: readonly string[], platform: NodeJS.Platform): Promise<boolean> {
  const lib = platform === "win32" ? win32 : posix;
  const fold = (p: string) => (platform === "win32" ? p.toLowerCase() : p);
  const real = fold(await resolveExisting(lib.resolve(path), lib));
  for (const prefix of prefixes) {
    const root = fold(await resolveExisting(lib.resolve(prefix), lib));
    if (real === root) return true;
    const withSep = root.endsWith(lib.sep) ? root : root + lib.sep;
    if (real.startsWith(withSep)) return true;
  }
  return false;
}

/** The path with the links of its longest existing ancestor resolved; the rest as written. */
async function resolveExisting(path: string, lib: typeof posix): Promise<string> {
  const rest: string[] = [];
  let p = path;
  for (;;) {
    try {
      const real = await realpath(p);
      return rest.length ? lib.join(real, ...rest.reverse()) : real;
    } catch {
      const parent = lib.dirname(p);
      if (parent === p) return path;
      rest.push(lib.basename(p));
      p = parent;
    }
  }
}
