// The .deb packages for real: builds them from this machine's executables, runs lintian, installs
// both with apt-get, enrolls the installed agent with the installed server, reinstalls, removes and
// purges them, and checks the machine is left as it was. Needs root, apt-get and dpkg-deb (Debian);
// skipped otherwise, and also when restic-fleet packages, files or the restic-fleet user are already
// on the machine (the test would delete them).
// Run: bun test --timeout 300000 scripts/package-deb.int.test.ts
// RF_DEB_TEST_DIST=DIR takes the executables from DIR instead of dist/ (built there when missing).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitForLine } from "../e2e/fleet.ts";
import {
  type BuiltDeb,
  buildDebs,
  type DebArch,
  debianVersion,
  executablePath,
  executableVersion,
  FAST_COMPRESSION,
  hostDebArch,
  LIBC_DEPENDENCY,
  manPage,
  PACKAGES,
} from "./package-deb.ts";

const ROOT = join(import.meta.dir, "..");
const AGENT = "restic-fleet-agent" as const;
const SERVER = "restic-fleet-server" as const;
const USER = "restic-fleet";
const DATA_DIR = "/var/lib/restic-fleet-server";
const STATE_DIR = "/var/lib/restic-fleet-agent";
const MINUTE = 60_000;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(argv: string[], env: Record<string, string> = {}): Result {
  const res = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  return { code: res.exitCode ?? -1, stdout: res.stdout.toString(), stderr: res.stderr.toString() };
}

function ok(argv: string[], env: Record<string, string> = {}): string {
  const res = sh(argv, env);
  if (res.code !== 0) throw new Error(`${argv.join(" ")}: exit ${res.code}\n${res.stderr}${res.stdout}`);
  return res.stdout;
}

const APT_ENV = { DEBIAN_FRONTEND: "noninteractive" };
// Wait for the dpkg lock instead of failing when something else is using apt on this machine.
const apt = (...args: string[]) =>
  ok(["apt-get", "-y", "-q", "-o", "Dpkg::Use-Pty=0", "-o", "DPkg::Lock::Timeout=120", ...args], APT_ENV);

const which = (cmd: string) => sh(["sh", "-c", `command -v ${cmd}`]).code === 0;
// dpkg-query's own ${Status} placeholder, not a template string.
const installed = (pkg: string) => sh(["dpkg-query", "-W", "-f", "$" + "{Status}", pkg]).stdout.trim();
const mode = (path: string) => (statSync(path).mode & 0o7777).toString(8);
const owner = (path: string) => ok(["stat", "-c", "%U:%G", path]).trim();

/** What the packages may touch outside their own files; must be the same before and after. */
function machineState(): string {
  const list = (dir: string): string[] =>
    existsSync(dir)
      ? readdirSync(dir, { recursive: true })
          .map(String)
          .filter((f) => f.includes("restic-fleet"))
          .map((f) => `${dir}/${f}`)
          .sort()
      : [];
  return JSON.stringify({
    user: sh(["getent", "passwd", USER]).stdout,
    group: sh(["getent", "group", USER]).stdout,
    units: list("/etc/systemd/system"),
    dshEnabled: list("/var/lib/systemd/deb-systemd-helper-enabled"),
    dshMasked: list("/var/lib/systemd/deb-systemd-helper-masked"),
    paths: ["/etc/restic-fleet-agent", "/etc/restic-fleet-server", STATE_DIR, DATA_DIR].filter((p) => existsSync(p)),
    agent: installed(AGENT),
    server: installed(SERVER),
  });
}

/** Reads a stream line by line until one matches; keeps draining it into `sink` afterwards. */

// --- pure parts, everywhere -------------------------------------------------------------------

describe("package-deb helpers", () => {
  test("debianVersion turns build versions into Debian versions that sort right", () => {
    expect(debianVersion("0.1.0+74ab76b")).toBe("0.1.0+74ab76b-1");
    expect(debianVersion("0.1.0+74ab76b.dirty")).toBe("0.1.0+74ab76b.dirty-1");
    expect(debianVersion("0.1.0")).toBe("0.1.0-1");
    expect(debianVersion("0.1.0-dev")).toBe("0.1.0~dev-1");
    expect(debianVersion("1.2.0-rc.1+abc")).toBe("1.2.0~rc.1+abc-1");
    expect(() => debianVersion("v1")).toThrow();
    expect(() => debianVersion("1.0 beta")).toThrow();
    // dpkg's own ordering: a pre-release before its release, a build after it.
    if (which("dpkg")) {
      const lt = (a: string, b: string) => sh(["dpkg", "--compare-versions", a, "lt", b]).code === 0;
      expect(lt(debianVersion("1.2.0-rc.1"), debianVersion("1.2.0"))).toBe(true);
      expect(lt(debianVersion("1.2.0"), debianVersion("1.2.0+abc"))).toBe(true);
    }
  });

  test("the copyright file states the repository's LICENSE: MIT (Debian's Expat), same holder, same text", () => {
    const license = readFileSync(join(ROOT, "LICENSE"), "utf8");
    const copyright = readFileSync(join(ROOT, "packaging/deb/copyright"), "utf8");
    expect(license).toStartWith("MIT License\n");
    const holder = /^Copyright \(c\) (.+)$/m.exec(license)?.[1];
    expect(holder).toBe("2026 Restic Fleet contributors");
    const files = /^Files: \*\nCopyright: (.+)\nLicense: (.+)$/m.exec(copyright);
    expect([files?.[1], files?.[2]]).toEqual([holder, "Expat"]);
    // The stand-alone paragraph: continuation lines start with a space, " ." separates paragraphs.
    const text = /^License: Expat\n((?: .*\n?)+)/m.exec(copyright)?.[1] ?? "";
    const words = (s: string) => s.replace(/^ \.$/gm, "").split(/\s+/).filter(Boolean);
    expect(words(text)).toEqual(words(license.slice(license.indexOf("Permission is hereby granted"))));
  });

  test("the man pages carry every command's help and escape roff", () => {
    for (const spec of PACKAGES) {
      const page = manPage(spec, { buildVersion: "0.1.0+abc", epoch: 0 });
      expect(page).toStartWith(`.TH ${spec.name.toUpperCase().replaceAll("-", "\\-")} 1 1970-01-01`);
      for (const heading of ["NAME", "SYNOPSIS", "DESCRIPTION", "ENVIRONMENT", "EXIT STATUS", "COMMANDS", "FILES"]) {
        expect(page).toContain(`.SH ${heading}\n`);
      }
      for (const name of Object.keys(spec.help)) expect(page).toContain(`.SS ${name.replaceAll("-", "\\-")}\n`);
      // Every line of text is literal: no unescaped minus signs or control lines from the help.
      for (const line of page.split("\n").filter((l) => !l.startsWith("."))) expect(line).not.toMatch(/(^|[^\\])-/);
    }
  });
});

// --- the real thing: root and apt-get -----------------------------------------------------------

const arch = hostDebArch();
const isRoot = process.getuid?.() === 0;
const hasTools = ["apt-get", "dpkg-deb", "dpkg-query", "runuser", "setpriv"].every(which);
// Only asked on a Debian machine where the test could run at all.
const leftovers = (): string[] => [
  ...[AGENT, SERVER].filter((p) => /installed|config-files|unpacked/.test(installed(p))).map((p) => `package ${p}`),
  ...(sh(["getent", "passwd", USER]).code === 0 ? [`user ${USER}`] : []),
  ...["/etc/restic-fleet-agent", "/etc/restic-fleet-server", STATE_DIR, DATA_DIR].filter((p) => existsSync(p)),
];
const skipReason = !isRoot
  ? "not root"
  : !hasTools
    ? "apt-get, dpkg-deb, runuser or setpriv missing (not Debian?)"
    : !arch
      ? `no Debian architecture for ${process.platform}-${process.arch}`
      : leftovers().length > 0
        ? `already on this machine, and the test would delete it: ${leftovers().join(", ")}`
        : "";
if (skipReason) {
  console.warn(`skipping the .deb install test (scripts/package-deb.int.test.ts): ${skipReason}`);
}

describe.skipIf(skipReason !== "")("the .deb packages, installed with apt-get", () => {
  const distDir = process.env.RF_DEB_TEST_DIST ?? join(ROOT, "dist");
  const debArch = arch as DebArch;
  let outDir = "";
  let before = "";
  let debs: BuiltDeb[] = [];
  let buildVersion = "";
  const deb = (pkg: string) => debs.find((d) => d.package === pkg)?.file ?? `missing ${pkg} package`;
  let server: ReturnType<typeof Bun.spawn> | null = null;
  const serverLog: string[] = [];

  beforeAll(async () => {
    before = machineState();
    outDir = mkdtempSync(join(tmpdir(), "rf-deb-test-"));
    if (!existsSync(executablePath(distDir, AGENT, debArch)) || !existsSync(executablePath(distDir, SERVER, debArch))) {
      console.warn(`no ${debArch} executables in ${distDir}: building them (bun scripts/build-binaries.ts --single)`);
      ok([process.execPath, join(ROOT, "scripts/build-binaries.ts"), "--single", "--out", distDir]);
    }
    buildVersion = executableVersion(executablePath(distDir, AGENT, debArch));
    debs = await buildDebs({ distDir, outDir, arches: [debArch], compression: FAST_COMPRESSION });
  }, 10 * MINUTE);

  afterAll(async () => {
    try {
      if (server) {
        // A server still running as restic-fleet would keep purge from deleting the user.
        server.kill("SIGKILL");
        await server.exited;
      }
      // Whatever happened above, leave no package, user or data behind.
      const left = [AGENT, SERVER].filter((p) => installed(p) !== "" && !installed(p).includes("not-installed"));
      if (left.length > 0) {
        const res = sh(["apt-get", "purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=120", ...left], APT_ENV);
        if (res.code !== 0) sh(["dpkg", "--purge", "--force-remove-reinstreq", ...left]);
      }
    } finally {
      if (outDir) rmSync(outDir, { recursive: true, force: true });
    }
  }, 5 * MINUTE);

  test("control data: names, version, dependencies, conffiles", () => {
    expect(debs.map((d) => d.file.replace(/.*\//, "")).sort()).toEqual([
      `${AGENT}_${debianVersion(buildVersion)}_${debArch}.deb`,
      `${SERVER}_${debianVersion(buildVersion)}_${debArch}.deb`,
    ]);
    const field = (pkg: string, name: string) => ok(["dpkg-deb", "-f", deb(pkg), name]).trim();
    expect(field(AGENT, "Depends")).toBe(`${LIBC_DEPENDENCY}, restic`);
    expect(field(SERVER, "Depends")).toBe(`${LIBC_DEPENDENCY}, adduser`);
    for (const pkg of [AGENT, SERVER]) {
      expect(field(pkg, "Version")).toBe(debianVersion(buildVersion));
      expect(field(pkg, "Section")).toBe("admin");
      expect(field(pkg, "Priority")).toBe("optional");
      const conffiles = ok(["dpkg-deb", "-I", deb(pkg), "conffiles"]).trim();
      expect(conffiles).toBe(
        pkg === AGENT
          ? "/etc/restic-fleet-agent/agent.env\n/etc/restic-fleet-agent/policy.json"
          : "/etc/restic-fleet-server/server.env",
      );
    }
  });

  test("the executables need no newer glibc than the Depends says", () => {
    if (!which("objdump")) return console.warn("objdump (binutils) missing: glibc check skipped");
    const wanted = /\(>= ([\d.]+)\)/.exec(LIBC_DEPENDENCY)?.[1] ?? "";
    for (const pkg of [AGENT, SERVER]) {
      const versions = ok(["objdump", "-T", executablePath(distDir, pkg, debArch)]).match(/GLIBC_[\d.]+/g) ?? [];
      const newer = [...new Set(versions.map((v) => v.slice("GLIBC_".length)))].filter(
        (v) => sh(["dpkg", "--compare-versions", v, "gt", wanted]).code === 0,
      );
      expect(newer).toEqual([]);
    }
  });

  test.skipIf(!which("lintian"))(
    "lintian reports no errors (warnings listed)",
    () => {
      // Overrides ship in the packages (packaging/deb/*/lintian-overrides), each with its reason.
      const res = sh(["lintian", "--no-tag-display-limit", deb(AGENT), deb(SERVER)]);
      const lines = res.stdout.split("\n").filter((l) => /^[EW]: /.test(l));
      const warnings = lines.filter((l) => l.startsWith("W: "));
      if (warnings.length > 0) console.warn(`lintian warnings:\n${warnings.join("\n")}`);
      expect(lines.filter((l) => l.startsWith("E: "))).toEqual([]);
      expect(res.stderr).not.toMatch(/^E: /m);
    },
    2 * MINUTE,
  );

  test(
    "apt-get install puts everything in place",
    () => {
      apt("install", deb(AGENT), deb(SERVER));
      for (const pkg of [AGENT, SERVER]) expect(installed(pkg)).toBe("install ok installed");
      expect(mode(`/usr/bin/${AGENT}`)).toBe("755");
      expect(mode(`/usr/bin/${SERVER}`)).toBe("755");
      expect(mode("/etc/restic-fleet-agent/agent.env")).toBe("600");
      expect(mode("/etc/restic-fleet-server/server.env")).toBe("600");
      // The packaged host policy parses, and is the safe default the docs describe.
      expect(mode("/etc/restic-fleet-agent/policy.json")).toBe("644");
      const policy = ok([`/usr/bin/${AGENT}`, "policy", "--state-dir", STATE_DIR]);
      expect(policy).toContain("policy from /etc/restic-fleet-agent/policy.json");
      expect(policy).toContain('"remote_hooks": false');
      expect(policy).toContain(`"${STATE_DIR}/restore"`);
      for (const unit of [AGENT, SERVER]) {
        expect(existsSync(`/lib/systemd/system/${unit}.service`)).toBe(true);
        // Enabled for the next boot even without a running systemd.
        expect(existsSync(`/etc/systemd/system/multi-user.target.wants/${unit}.service`)).toBe(true);
        expect(existsSync(`/usr/share/man/man1/${unit}.1.gz`)).toBe(true);
      }
      // The system user: no login, the data directory as home.
      const [, , uid, , , home, shell] = ok(["getent", "passwd", USER]).trim().split(":");
      expect(Number(uid)).toBeLessThan(1000);
      expect(home).toBe(DATA_DIR);
      expect(shell).toBe("/usr/sbin/nologin");
      expect(owner(DATA_DIR)).toBe(`${USER}:${USER}`);
      expect(mode(DATA_DIR)).toBe("750");
      // The units parse, with their users and executables present.
      if (which("systemd-analyze")) {
        ok([
          "systemd-analyze",
          "verify",
          `/lib/systemd/system/${AGENT}.service`,
          `/lib/systemd/system/${SERVER}.service`,
        ]);
      }
    },
    5 * MINUTE,
  );

  test("the installed executables run", () => {
    expect(ok([`/usr/bin/${AGENT}`, "version"]).trim()).toBe(`${AGENT} ${buildVersion}`);
    expect(ok([`/usr/bin/${SERVER}`, "version"]).trim()).toBe(`${SERVER} ${buildVersion}`);
  });

  test(
    "the installed agent enrolls with the installed server",
    async () => {
      // setpriv execs the server itself as restic-fleet, so the SIGTERM below reaches it directly.
      server = Bun.spawn(
        [
          "setpriv",
          `--reuid=${USER}`,
          `--regid=${USER}`,
          "--init-groups",
          `/usr/bin/${SERVER}`,
          "serve",
          "--listen",
          "127.0.0.1:0",
          "--data-dir",
          DATA_DIR,
        ],
        {
          env: { ...process.env, HOME: DATA_DIR, RF_ADMIN_PASSWORD: "deb-test-admin-password" },
          stdout: "ignore",
          stderr: "pipe",
        },
      );
      const line = await waitForLine(server.stderr as ReadableStream<Uint8Array>, /listening/, serverLog);
      const url = (JSON.parse(line) as { url: string }).url.replace(/\/$/, "");
      const asUser = (...args: string[]) =>
        ok(["runuser", "-u", USER, "--", SERVER, ...args, "--data-dir", DATA_DIR]).trim();

      const enrollToken = asUser("enrollment-token", "create");
      expect(enrollToken).toStartWith("rfe_");
      // The agent's default state dir, as the unit uses it.
      const enrolled = ok([AGENT, "enroll", "--server", url, "--token", enrollToken]);
      const hostId = /enrolled as host (\S+);/.exec(enrolled)?.[1] ?? "";
      expect(hostId).toStartWith("host_");
      expect(mode(`${STATE_DIR}/identity.json`)).toBe("600");

      const apiToken = asUser("api-token", "create", "--user", "admin");
      const res = await fetch(`${url}/api/v1/hosts`, { headers: { Authorization: `Bearer ${apiToken}` } });
      expect(res.status).toBe(200);
      const hosts = (await res.json()) as { items: { id: string }[] };
      expect(hosts.items.map((h) => h.id)).toContain(hostId);

      server.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      server = null;
      // Everything the server wrote belongs to its user.
      expect(ok(["find", DATA_DIR, "!", "-user", USER]).trim()).toBe("");
    },
    2 * MINUTE,
  );

  test(
    "reinstalling and re-running the maintainer scripts changes nothing",
    () => {
      const uid = ok(["id", "-u", USER]).trim();
      const identity = readFileSync(`${STATE_DIR}/identity.json`, "utf8");
      apt("install", "--reinstall", deb(AGENT), deb(SERVER));
      // postinst once more by hand, as dpkg runs it after an upgrade from the same version.
      const version = debianVersion(buildVersion);
      for (const pkg of [AGENT, SERVER]) ok([`/var/lib/dpkg/info/${pkg}.postinst`, "configure", version]);
      for (const pkg of [AGENT, SERVER]) expect(installed(pkg)).toBe("install ok installed");
      expect(ok(["id", "-u", USER]).trim()).toBe(uid);
      expect(owner(DATA_DIR)).toBe(`${USER}:${USER}`);
      expect(mode(DATA_DIR)).toBe("750");
      expect(readdirSync(DATA_DIR).length).toBeGreaterThan(0);
      expect(readFileSync(`${STATE_DIR}/identity.json`, "utf8")).toBe(identity);
    },
    5 * MINUTE,
  );

  test(
    "apt-get remove takes the programs and keeps configuration, data and user",
    () => {
      apt("remove", AGENT, SERVER);
      for (const pkg of [AGENT, SERVER]) {
        expect(installed(pkg)).toBe("deinstall ok config-files");
        expect(existsSync(`/usr/bin/${pkg}`)).toBe(false);
        expect(existsSync(`/lib/systemd/system/${pkg}.service`)).toBe(false);
      }
      expect(existsSync("/etc/restic-fleet-agent/agent.env")).toBe(true);
      expect(existsSync("/etc/restic-fleet-server/server.env")).toBe(true);
      expect(existsSync(`${STATE_DIR}/identity.json`)).toBe(true);
      expect(readdirSync(DATA_DIR).length).toBeGreaterThan(0);
      expect(sh(["getent", "passwd", USER]).code).toBe(0);
    },
    5 * MINUTE,
  );

  test(
    "apt-get purge leaves the machine as it was",
    () => {
      apt("purge", AGENT, SERVER);
      for (const pkg of [AGENT, SERVER]) {
        const res = sh(["dpkg", "-s", pkg]);
        expect(res.code).not.toBe(0);
        expect(res.stderr).toContain("is not installed");
      }
      for (const gone of ["/etc/restic-fleet-agent", "/etc/restic-fleet-server", STATE_DIR, DATA_DIR]) {
        expect(existsSync(gone)).toBe(false);
      }
      expect(sh(["getent", "passwd", USER]).code).not.toBe(0);
      expect(sh(["getent", "group", USER]).code).not.toBe(0);
      expect(machineState()).toBe(before);
    },
    5 * MINUTE,
  );
});
