import { arch, hostname, platform, uptime } from "node:os";

export interface HostInfo {
  hostname: string;
  os: "linux" | "windows";
  arch: "amd64" | "arm64";
  boot_time: string;
}

/** What the agent tells the server about this machine in `hello`. */
export function hostInfo(now: Date = new Date()): HostInfo {
  const os = platform() === "win32" ? "windows" : "linux";
  const a = arch() === "arm64" ? "arm64" : "amd64";
  // Boot time to the second: uptime() is in seconds; round so it is stable across hellos.
  const boot = new Date(Math.round((now.getTime() - uptime() * 1000) / 1000) * 1000);
  return { hostname: hostname() || "unknown", os, arch: a, boot_time: boot.toISOString() };
}

/** The host's IANA time zone (schedules without their own run in it); undefined when unknown. */
export function hostTimeZone(): string | undefined {
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    return zone && /^[A-Za-z0-9_+/-]{1,64}$/.test(zone) ? zone : undefined;
  } catch {
    return undefined;
  }
}
