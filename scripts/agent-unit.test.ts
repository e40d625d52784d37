import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultStateDir } from "../agent/src/cli/help.ts";
import { builtInPolicy } from "../agent/src/policy/load-policy.ts";
import { defaultRestoreFolder } from "../server/src/ui/client/restore-landing.ts";

// Issue 17: the restore hint used /tmp/restore, which the packaged agent's PrivateTmp=yes turns
// into a private folder that is thrown away. Every default restore target the project names must
// be writable, and kept, under the unit the .deb ships.
const ROOT = join(import.meta.dir, "..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** The [Service] settings of a unit file; a key given twice keeps every value (ReadWritePaths=). */
function serviceSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) section = line;
    if (section !== "[Service]" || line.startsWith("#") || !line.includes("=")) continue;
    const at = line.indexOf("=");
    const key = line.slice(0, at);
    settings.set(key, [
      ...(settings.get(key) ?? []),
      ...line
        .slice(at + 1)
        .split(/\s+/)
        .filter(Boolean),
    ]);
  }
  return settings;
}

const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir.replace(/\/$/, "")}/`);

/** Why a restore into `path` would not stay on the host under this unit (systemd.exec(5)), or null. */
function unitProblem(unit: Map<string, string[]>, path: string): string | null {
  const one = (key: string) => unit.get(key)?.at(-1) ?? "no";
  const on = (key: string) => ["yes", "true", "on", "1"].includes(one(key));
  const tmp = ["/tmp", "/var/tmp"].find((d) => under(path, d));
  if (tmp && on("PrivateTmp")) return `${tmp} is private to the service (PrivateTmp=yes) and discarded when it stops`;
  const granted = [
    ...(unit.get("ReadWritePaths") ?? []).map((p) => p.replace(/^[-+]/, "")),
    ...(unit.get("StateDirectory") ?? []).map((d) => `/var/lib/${d}`),
    ...(unit.get("CacheDirectory") ?? []).map((d) => `/var/cache/${d}`),
    ...(unit.get("LogsDirectory") ?? []).map((d) => `/var/log/${d}`),
  ];
  const denied = [...(unit.get("ReadOnlyPaths") ?? []), ...(unit.get("InaccessiblePaths") ?? [])];
  if (denied.some((d) => under(path, d.replace(/^[-+]/, "")))) return "ReadOnlyPaths=/InaccessiblePaths= cover it";
  if (granted.some((d) => under(path, d))) return null;
  const system = one("ProtectSystem");
  const readOnly =
    system === "strict"
      ? ["/"]
      : system === "full"
        ? ["/usr", "/boot", "/efi", "/etc"]
        : ["yes", "true"].includes(system)
          ? ["/usr", "/boot", "/efi"]
          : [];
  if (readOnly.some((d) => under(path, d)) && !["/dev", "/proc", "/sys"].some((d) => under(path, d))) {
    return `ProtectSystem=${system} makes it read-only and no ReadWritePaths=/StateDirectory= grants it`;
  }
  if (
    ["yes", "read-only", "tmpfs"].includes(one("ProtectHome")) &&
    ["/home", "/root", "/run/user"].some((d) => under(path, d))
  ) {
    return `ProtectHome=${one("ProtectHome")} hides or freezes it`;
  }
  return null;
}

const unit = serviceSettings(read("packaging/deb/agent/restic-fleet-agent.service"));

test("the checker sees the shipped sandbox: /tmp is private, /etc read-only, the state dir writable", () => {
  expect(unitProblem(unit, "/tmp/restore")).toContain("PrivateTmp=yes");
  expect(unitProblem(unit, "/etc/restore")).toContain("ProtectSystem=full");
  expect(unitProblem(unit, "/var/lib/restic-fleet-agent/x")).toBeNull();
  const strict = serviceSettings("[Service]\nProtectSystem=strict\nStateDirectory=restic-fleet-agent\n");
  expect(unitProblem(strict, "/srv/restore")).toContain("strict");
  expect(unitProblem(strict, "/var/lib/restic-fleet-agent/restore")).toBeNull();
});

test("every default restore target is writable and kept under the shipped agent unit", () => {
  // The unit sets no RF_STATE_DIR: the agent uses its default state dir, the unit's StateDirectory.
  expect(`/var/lib/${unit.get("StateDirectory")?.[0]}`).toBe(defaultStateDir());
  const staging = builtInPolicy(defaultStateDir(), "linux").restore_targets?.[0] ?? "";
  const shipped = JSON.parse(read("packaging/deb/agent/policy.json")) as { restore_targets: string[] };
  const apiExample = /"kind":"restore","spec":\{[^}]*"target":"([^"]+)"/.exec(read("docs/api.md"))?.[1];
  const defaults = {
    "the agent's built-in staging folder": staging,
    "the .deb's policy.json": shipped.restore_targets[0],
    "the run form's default": defaultRestoreFolder("linux"),
    "docs/api.md's restore example": apiExample,
  };
  for (const [where, target] of Object.entries(defaults)) {
    expect({ where, target, problem: target ? unitProblem(unit, target) : "none found" }).toEqual({
      where,
      target: staging,
      problem: null,
    });
  }
});
