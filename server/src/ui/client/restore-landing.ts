/**
 * Where a restore puts files, for the run form to say before it runs. The packages' host policy
 * allows restores only into the staging folder `restore` in the agent's state dir; on Linux that is
 * in the unit's StateDirectory, which stays writable and survives a restart under the shipped
 * sandbox (PrivateTmp=yes makes /tmp a private, throw-away folder: never a default).
 */
export function defaultRestoreFolder(os: string | null): string {
  return os === "windows" ? "C:\\ProgramData\\restic-fleet-agent\\restore" : "/var/lib/restic-fleet-agent/restore";
}

const isWindowsPath = (p: string) => /^[A-Za-z]:[\\/]/.test(p);

/**
 * restic recreates each path under the target: `<target>/<original absolute path>`. A Windows
 * path's drive becomes a folder (C:\Users\x under D:\r is D:\r\C\Users\x).
 */
export function landingPath(target: string, path: string): string {
  if (!isWindowsPath(target)) return `${target.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
  const rel = path
    .replace(/^\/?([A-Za-z]):?(?=[\\/]|$)/, "$1")
    .replace(/\//g, "\\")
    .replace(/^\\+/, "");
  return `${target.replace(/[\\/]+$/, "")}\\${rel}`;
}

/** The run form's line under the target: where the chosen paths land (the first three). */
export function landingLine(target: string, paths: readonly string[]): string {
  const folder = target.trim() || "<target>";
  if (paths.length === 0) return `Files land at ${landingPath(folder, "<original absolute path>")}.`;
  const shown = paths.slice(0, 3).map((p) => landingPath(folder, p));
  const more = paths.length > 3 ? ` and ${paths.length - 3} more` : "";
  return `Files land at ${shown.join(", ")}${more} (the target folder, then each original absolute path).`;
}
