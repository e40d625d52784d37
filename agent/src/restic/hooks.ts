import { baseEnv } from "./secrets.ts";

/**
 * The argv that runs a hook script: the repository's hook_shell (split on whitespace, e.g.
 * "/bin/bash -c" or "pwsh -NoProfile -Command") with the script as its last argument.
 */
export function hookArgv(hookShell: string | undefined, script: string, platform = process.platform): string[] {
  const shell = hookShell?.trim()
    ? hookShell.trim().split(/\s+/)
    : platform === "win32"
      ? ["powershell", "-NoProfile", "-Command"]
      : ["/bin/sh", "-c"];
  return [...shell, script];
}

/**
 * A hook's environment: the agent's, without RESTIC_* and RF_* (no repository password, no agent
 * token), plus what the script may want to know about its job. A post-hook also learns restic's
 * result, so one script can clean up always and alert on failure.
 */
export function hookEnv(
  job: { jobId: string; kind: string },
  phase: "pre" | "post",
  resticStatus?: "succeeded" | "failed",
  parent: Record<string, string | undefined> = process.env,
): Record<string, string> {
  const env = baseEnv(parent);
  env.RF_JOB_ID = job.jobId;
  env.RF_JOB_KIND = job.kind;
  env.RF_HOOK = phase;
  if (resticStatus) env.RF_RESTIC_STATUS = resticStatus;
  return env;
}
