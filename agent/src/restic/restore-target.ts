import { randomUUID } from "node:crypto";
import type { Stats } from "node:fs";
import { open, readFile, realpath, rm, stat } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";

export interface TargetCheck {
  /** Where restores can go instead: the host policy's first allowed folder (the staging folder). */
  staging?: string | undefined;
  /** /proc/self/mountinfo's text ("" when there is none); read from the system when not given. */
  mountinfo?: string;
}

/**
 * Why a restore into `target` cannot work, or null. restic itself says nothing useful early: it
 * fails file by file, or "succeeds" into a systemd service's private /tmp that is thrown away when
 * the service stops. So before restic runs, the nearest existing folder of the target (the target
 * itself, or the parent restic would create it in) must be a folder the agent can write a file in,
 * and not a private /tmp or /var/tmp (PrivateTmp=yes, as in the packaged unit).
 */
export async function restoreTargetProblem(target: string, o: TargetCheck = {}): Promise<string | null> {
  const wanted = resolve(target);
  const instead =
    o.staging && !`${wanted}${sep}`.startsWith(`${resolve(o.staging)}${sep}`) ? ` such as ${o.staging}` : "";
  const refuse = (why: string, advice = `pick a target folder the agent can write${instead}`) =>
    `cannot restore into ${target}: ${why}; restic did not run. ${capitalize(advice)}`;
  let dir = wanted;
  for (;;) {
    const found = await statOf(dir);
    if (found === "missing") {
      const parent = dirname(dir);
      if (parent === dir) return refuse("no folder of its path exists");
      dir = parent;
      continue;
    }
    if (typeof found === "string") return refuse(`${dir} cannot be read (${found})`);
    if (!found.isDirectory()) {
      return refuse(dir === wanted ? "it is a file, not a folder" : `${dir} is a file, so no folder can be made in it`);
    }
    break;
  }
  const privateTmp = privateTmpOf(await realpath(dir), o.mountinfo ?? (await readMountinfo()));
  if (privateTmp) {
    return refuse(
      `${privateTmp} is this service's private ${privateTmp} (systemd PrivateTmp=yes), which is deleted when the ` +
        "agent stops, so the restored files would be lost",
      `pick a target outside ${privateTmp}${instead}`,
    );
  }
  const probe = join(dir, `.restic-fleet-write-probe-${randomUUID()}`);
  try {
    await (await open(probe, "wx", 0o600)).close();
  } catch (err) {
    const code = (err as { code?: string }).code ?? "";
    const why =
      code === "EROFS" ? "read-only file system" : code === "EACCES" || code === "EPERM" ? "permission denied" : code;
    const unit =
      code === "EROFS" && process.env.INVOCATION_ID
        ? `; under systemd, the unit's ProtectSystem=/ProtectHome= make such folders read-only: allow this one with ` +
          `'systemctl edit restic-fleet-agent' ([Service] ReadWritePaths=${dir})`
        : "";
    return refuse(
      `the agent cannot write in ${dir} (${why || (err as Error).message})`,
      `pick a target folder the agent can write${instead}${unit}`,
    );
  }
  await rm(probe, { force: true });
  return null;
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

async function statOf(path: string): Promise<Stats | "missing" | string> {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as { code?: string }).code;
    // ENOTDIR: a file on the way, which the walk up finds next.
    if (code === "ENOENT" || code === "ENOTDIR") return "missing";
    return code ?? (err as Error).message;
  }
}

async function readMountinfo(): Promise<string> {
  if (process.platform !== "linux") return "";
  return readFile("/proc/self/mountinfo", "utf8").catch(() => "");
}

/**
 * "/tmp" or "/var/tmp" when `path` lies in one that systemd made private to this service: it
 * bind-mounts /tmp/systemd-private-<boot>-<unit>-<random>/tmp over /tmp (and the same for /var/tmp),
 * so that mount's root in mountinfo (field 4; field 5 is where it is mounted) names systemd-private-.
 */
export function privateTmpOf(path: string, mountinfo: string): string | null {
  for (const line of mountinfo.split("\n")) {
    const [, , , root, point] = line.split(" ");
    if ((point === "/tmp" || point === "/var/tmp") && root?.includes("/systemd-private-")) {
      if (path === point || path.startsWith(`${point}/`)) return point;
    }
  }
  return null;
}
