import { defaultStateDir } from "./help.ts";

/**
 * `restic-fleet-agent <args>` as an operator must type it for the agent in `stateDir`: a hint that
 * drops a non-default --state-dir sends them to the default one, which is not this agent.
 */
export function agentCommandLine(args: string, stateDir: string): string {
  if (stateDir === defaultStateDir()) return `restic-fleet-agent ${args}`;
  // Quoted when it holds a space or the like (double quotes: the same in sh, cmd and PowerShell).
  return `restic-fleet-agent ${args} --state-dir ${/^[\w./:\\-]+$/.test(stateDir) ? stateDir : `"${stateDir}"`}`;
}
