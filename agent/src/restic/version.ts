import { runProcess } from "./run-process.ts";
import { bunSpawn } from "./spawn.ts";
import type { ResticFeatures, SpawnFn } from "./types.ts";

export interface ResticVersion {
  version: string;
  major: number;
  minor: number;
  patch: number;
}

/** Parses `restic version` output: "restic 0.14.0 compiled with go1.19.8 on linux/amd64". */
export function parseResticVersion(output: string): ResticVersion | null {
  const m = /restic (\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!m) return null;
  const [, major, minor, patch] = m;
  return {
    version: `${major}.${minor}.${patch}`,
    major: Number(major),
    minor: Number(minor),
    patch: Number(patch),
  };
}

export function versionAtLeast(v: ResticVersion | null, major: number, minor: number, patch = 0): boolean {
  if (!v) return false;
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

/**
 * What the argv builders may use. An unknown version gets 0.14's feature set (Debian bookworm's
 * restic), the oldest this agent supports.
 */
export function featuresOf(v: ResticVersion | null): ResticFeatures {
  return {
    // restic 0.16.0 (2023-07-31), "Enh #719: Add --retry-lock option".
    retryLock: versionAtLeast(v, 0, 16),
    // restic 0.17.0 (2024-07-26), "Enh #4251: Support reading backup from a command's standard output".
    stdinFromCommand: versionAtLeast(v, 0, 17),
  };
}

/** Runs `restic version` once; null when restic cannot be run or says something unexpected. */
export async function detectResticVersion(
  resticPath: string,
  spawn: SpawnFn = bunSpawn,
): Promise<ResticVersion | null> {
  const out: string[] = [];
  const env: Record<string, string> = {};
  // PATH only: `restic version` reads nothing else, and this keeps RESTIC_* out.
  if (process.env.PATH) env.PATH = process.env.PATH;
  try {
    const result = await runProcess({
      spawn,
      argv: [resticPath, "version"],
      env,
      onStdout: (line) => out.push(line),
      onStderr: () => {},
    });
    if (result.exitCode !== 0) return null;
    return parseResticVersion(out.join("\n"));
  } catch {
    return null;
  }
}
