/** Replaced at build time by scripts/build-binaries.ts (`define`); the package version otherwise. */
declare const RF_BUILD_VERSION: string | undefined;

export const SERVER_VERSION: string = typeof RF_BUILD_VERSION === "string" ? RF_BUILD_VERSION : "0.1.0-dev";

/**
 * The Debian version for a build version as the executables print it (package.json's version,
 * then "+<commit>[.dirty]"). A semver pre-release becomes "~pre" so that it sorts before the
 * release, as in semver; "-1" is the Debian revision of our packaging.
 */
export function debianVersion(buildVersion: string): string {
  const m = /^(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+?))?(?:\+([0-9A-Za-z.-]+))?$/.exec(buildVersion.trim());
  if (!m?.[1]) throw new Error(`cannot make a Debian version of "${buildVersion}": expected e.g. 0.1.0+74ab76b`);
  const [, core, pre, build] = m;
  return `${core}${pre ? `~${pre.replaceAll("-", ".")}` : ""}${build ? `+${build.replaceAll("-", ".")}` : ""}-1`;
}

/** The agent's .deb of this release, as scripts/package-deb.ts names it; null for a version it cannot name. */
export function agentDebName(buildVersion: string, arch: "amd64" | "arm64" = "amd64"): string | null {
  try {
    return `restic-fleet-agent_${debianVersion(buildVersion)}_${arch}.deb`;
  } catch {
    return null;
  }
}
