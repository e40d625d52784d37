// Builds the Debian packages restic-fleet-agent_<version>_<arch>.deb and
// restic-fleet-server_<version>_<arch>.deb from the executables of scripts/build-binaries.ts, with
// dpkg-deb. The files that go into them (units, env files, maintainer scripts, lintian overrides)
// are in packaging/deb/; this script adds the generated ones (control, md5sums, changelog, man
// pages) and assembles the tree.
// Usage: bun scripts/package-deb.ts [--dist dist] [--out dist] [--arch amd64,arm64] [--version V]
//                                    [--maintainer "Name <mail>"] [--homepage URL] [--fast]
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { HELP as AGENT_HELP, MAIN_HELP as AGENT_MAIN_HELP } from "../agent/src/cli/help.ts";
import { HELP as SERVER_HELP, MAIN_HELP as SERVER_MAIN_HELP } from "../server/src/cli/help.ts";
import { debianVersion } from "../server/src/version.ts";

const ROOT = join(import.meta.dir, "..");
export const PACKAGING_DIR = join(ROOT, "packaging", "deb");

export type DebArch = "amd64" | "arm64";
export const DEB_ARCHES: readonly DebArch[] = ["amd64", "arm64"];

/** dist/ suffix of each architecture's executables (scripts/build-binaries.ts) and its ELF e_machine. */
const ARCH_INFO: Record<DebArch, { dist: string; elfMachine: number }> = {
  amd64: { dist: "linux-x64", elfMachine: 0x3e },
  arm64: { dist: "linux-arm64", elfMachine: 0xb7 },
};

// Placeholders until the project has a public home: pass --maintainer/--homepage (or set them here).
export const DEFAULT_MAINTAINER = "Restic Fleet maintainers <restic-fleet@example.org>";

/**
 * Where the units go. Debian bookworm (dh_installsystemd, lintian 2.116) still uses /lib; trixie
 * moved to /usr/lib. Keep one location for the life of the package: moving a file between the
 * aliased /lib and /usr/lib within a package can make dpkg delete it (DEP 17).
 */
const UNIT_DIR = "lib/systemd/system";

interface PackageSpec {
  name: "restic-fleet-agent" | "restic-fleet-server";
  /** packaging/deb/<dir> holds the unit, the env file, maintainer scripts, README.Debian and overrides. */
  dir: "agent" | "server";
  envFile: string;
  depends: string[];
  synopsis: string;
  /** Extended description, one string per paragraph (wrapped at 79 columns). */
  description: string[];
  /** Directories shipped empty (no leading slash). */
  extraDirs: string[];
  /** More conffiles in /etc/<name>/, besides the env file: [file name, mode]. */
  extraConffiles: [string, number][];
  mainHelp: string;
  help: Record<string, string>;
  /** For the man page's FILES section. */
  files: [string, string][];
  seeAlso: string[];
}

// The executables are dynamically linked against glibc; the newest symbol version they use is
// GLIBC_2.17 (objdump -T, Bun 1.4.5 linux-x64; 2.17 is also the oldest glibc on arm64).
// scripts/package-deb.int.test.ts re-checks this against the executables it packages.
export const LIBC_DEPENDENCY = "libc6 (>= 2.17)";

export const PACKAGES: readonly PackageSpec[] = [
  {
    name: "restic-fleet-agent",
    dir: "agent",
    envFile: "agent.env",
    depends: [LIBC_DEPENDENCY, "restic"],
    synopsis: "agent that runs this host's restic backups for a Restic Fleet server",
    description: [
      "Restic Fleet manages restic backups for a fleet of Linux and Windows hosts from one place. " +
        "This package holds the agent for one host: it dials out to the server (nothing listens " +
        "on the host), receives the backup schedules and repository settings, fires the schedules " +
        "and runs the restic command line program, one operation at a time, reporting progress, " +
        "logs and results back to the server.",
      "The package ships a systemd unit that runs the agent as root, so that backups can read " +
        "every file, in a sandbox that keeps /usr and /etc read-only. The agent starts once the " +
        "host is enrolled with an enrollment token from the server.",
    ],
    extraDirs: [],
    // The host policy: what any server may ask of this host (docs/agent.md, "Host policy").
    extraConffiles: [["policy.json", 0o644]],
    mainHelp: AGENT_MAIN_HELP,
    help: AGENT_HELP,
    files: [
      ["/etc/restic-fleet-agent/agent.env", "the service's environment (RF_SERVER, RF_ENROLL_TOKEN, ...)"],
      [
        "/etc/restic-fleet-agent/policy.json",
        "the host policy: whether the server may send hooks, where restores may write, which paths backups may read, which repositories the host uses",
      ],
      ["/var/lib/restic-fleet-agent", "the state directory: identity, repository settings, queued jobs"],
      [`/${UNIT_DIR}/restic-fleet-agent.service`, "the systemd unit"],
    ],
    seeAlso: ["restic(1)", "restic-fleet-server(1)", "systemctl(1)"],
  },
  {
    name: "restic-fleet-server",
    dir: "server",
    envFile: "server.env",
    depends: [LIBC_DEPENDENCY, "adduser"],
    synopsis: "server that manages restic backups for a fleet of hosts",
    description: [
      "Restic Fleet manages restic backups for a fleet of Linux and Windows hosts from one place. " +
        "This package holds the server: it keeps the fleet's state in SQLite, pushes schedules and " +
        "repository settings to the agents, turns every schedule tick into a job, and offers a web " +
        "UI and an HTTP API that show which hosts have a recent backup that will restore.",
      "The package ships a systemd unit that runs the server as the system user restic-fleet in a " +
        "strict sandbox, with its data in /var/lib/restic-fleet-server. Install restic-fleet-agent " +
        "on the hosts to back up.",
    ],
    extraDirs: ["var/lib/restic-fleet-server"],
    extraConffiles: [],
    mainHelp: SERVER_MAIN_HELP,
    help: SERVER_HELP,
    files: [
      ["/etc/restic-fleet-server/server.env", "the service's environment (RF_LISTEN, RF_LOG_LEVEL, ...)"],
      ["/var/lib/restic-fleet-server", "the data directory: database and secret key, owned by restic-fleet"],
      [`/${UNIT_DIR}/restic-fleet-server.service`, "the systemd unit"],
    ],
    seeAlso: ["restic-fleet-agent(1)", "restic(1)", "systemctl(1)", "runuser(1)"],
  },
];

// The Debian version rule lives beside the version itself, so the server names the same .deb.
export { debianVersion };

export function hostDebArch(): DebArch | null {
  if (process.platform !== "linux") return null;
  return process.arch === "x64" ? "amd64" : process.arch === "arm64" ? "arm64" : null;
}

export function executablePath(distDir: string, program: PackageSpec["name"], arch: DebArch): string {
  return join(distDir, `${program}-${ARCH_INFO[arch].dist}`);
}

/** The version an executable prints: `<program> version` -> "<program> <version>". */
export function executableVersion(file: string): string {
  const res = Bun.spawnSync([file, "version"], { stdout: "pipe", stderr: "pipe" });
  const out = res.stdout.toString().trim();
  const m = /^restic-fleet-(?:agent|server) (\S+)$/.exec(out);
  if (res.exitCode !== 0 || !m?.[1]) {
    throw new Error(`${file} version: exit ${res.exitCode}, output "${out}" ${res.stderr.toString().trim()}`);
  }
  return m[1];
}

function checkElf(file: string, arch: DebArch): void {
  const head = readFileSync(file).subarray(0, 20);
  const isElf = head[0] === 0x7f && head.toString("latin1", 1, 4) === "ELF";
  if (!isElf || head.readUInt16LE(18) !== ARCH_INFO[arch].elfMachine) {
    throw new Error(`${file} is not a Linux ${arch} executable`);
  }
}

// --- text generators ------------------------------------------------------------------------

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function controlFile(spec: PackageSpec, o: { version: string; arch: DebArch; installedKiB: number } & Meta): string {
  const fields: [string, string | undefined][] = [
    ["Package", spec.name],
    ["Version", o.version],
    ["Architecture", o.arch],
    ["Maintainer", o.maintainer],
    ["Installed-Size", String(o.installedKiB)],
    ["Depends", spec.depends.join(", ")],
    ["Section", "admin"],
    ["Priority", "optional"],
    ["Homepage", o.homepage],
  ];
  const head = fields
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");
  const body = spec.description
    .map((p) =>
      wrap(p, 78)
        .map((l) => ` ${l}`)
        .join("\n"),
    )
    .join("\n .\n");
  return `${head}\nDescription: ${spec.synopsis}\n${body}\n`;
}

function rfc2822(epoch: number): string {
  // e.g. "Sun, 30 Nov 2026 12:56:00 +0000"
  return new Date(epoch * 1000).toUTCString().replace("GMT", "+0000");
}

function changelog(spec: PackageSpec, o: { version: string; buildVersion: string; epoch: number } & Meta): string {
  return (
    `${spec.name} (${o.version}) unstable; urgency=medium\n\n` +
    `  * restic-fleet ${o.buildVersion}.\n\n` +
    ` -- ${o.maintainer}  ${rfc2822(o.epoch)}\n`
  );
}

/** One line of text for roff: backslashes and minus signs kept literal, no leading control character. */
function roff(line: string): string {
  const s = line.replaceAll("\\", "\\e").replaceAll("-", "\\-");
  return /^[.']/.test(s) ? `\\&${s}` : s;
}

/**
 * A man page built from the program's --help texts (agent/src/cli/help.ts, server/src/cli/help.ts),
 * so it cannot drift from them: NAME from the first line, SYNOPSIS from "Usage:", one section per
 * "Heading:" block (Environment, Exit codes), each command's help verbatim, then FILES.
 */
export function manPage(spec: PackageSpec, o: { buildVersion: string; epoch: number }): string {
  const [first = spec.name, ...rest] = spec.mainHelp.split("\n");
  const tagline = first.replace(new RegExp(`^${spec.name}:\\s*`), "");
  const blocks = rest
    .join("\n")
    .split(/\n\s*\n/)
    .map((b) => b.replace(/^\n+|\n+$/g, ""))
    .filter(Boolean);
  const date = new Date(o.epoch * 1000).toISOString().slice(0, 10);
  const out: string[] = [
    `.TH ${roff(spec.name.toUpperCase())} 1 ${date} ${roff(`"restic-fleet ${o.buildVersion}"`)} "Restic Fleet"`,
    ".SH NAME",
    `${roff(spec.name)} \\- ${roff(tagline)}`,
  ];
  const pre = (text: string) => [".nf", ...text.split("\n").map(roff), ".fi"];
  const sections: string[] = [];
  for (const block of blocks) {
    const [head = "", ...lines] = block.split("\n");
    const m = /^([A-Z][A-Za-z ]*?)(?: \([^)]*\))?:\s*(.*)$/.exec(head);
    if (!m?.[1]) {
      sections.push(".PP", ...pre(block));
      continue;
    }
    const title = m[1] === "Exit codes" ? "EXIT STATUS" : m[1] === "Usage" ? "SYNOPSIS" : m[1].toUpperCase();
    const body = [m[2] ?? "", ...lines].filter((l, i) => i > 0 || l !== "").map((l) => l.replace(/^ {2}/, ""));
    const section = [`.SH ${roff(title)}`, ...pre(body.join("\n"))];
    if (title === "SYNOPSIS") out.push(...section);
    else sections.push(...section);
  }
  out.push(".SH DESCRIPTION", ...spec.description.flatMap((p) => [".PP", roff(p)]), ...sections);
  const commands = Object.entries(spec.help);
  if (commands.length > 0) {
    out.push(".SH COMMANDS");
    for (const [name, text] of commands) out.push(`.SS ${roff(name)}`, ...pre(text));
  }
  out.push(".SH FILES");
  for (const [path, what] of spec.files) out.push(".TP", `.I ${roff(path)}`, roff(what));
  out.push(".SH SEE ALSO", roff(spec.seeAlso.join(", ")));
  return `${out.join("\n")}\n`;
}

// --- assembling a package --------------------------------------------------------------------

interface Meta {
  maintainer: string;
  homepage?: string | undefined;
}

interface Entry {
  /** Path in the package, without a leading slash. */
  path: string;
  mode: number;
  /** A file's content, or a path to copy from. */
  data?: Uint8Array | string;
  copyFrom?: string;
  conffile?: boolean;
}

const gz = (text: string) => gzipSync(Buffer.from(text), { level: 9 }); // like gzip -9n: no name, no time

function packageEntries(
  spec: PackageSpec,
  o: { arch: DebArch; distDir: string; version: string; buildVersion: string; epoch: number } & Meta,
): Entry[] {
  const src = (f: string) => join(PACKAGING_DIR, spec.dir, f);
  const doc = `usr/share/doc/${spec.name}`;
  return [
    { path: `usr/bin/${spec.name}`, mode: 0o755, copyFrom: executablePath(o.distDir, spec.name, o.arch) },
    { path: `${UNIT_DIR}/${spec.name}.service`, mode: 0o644, copyFrom: src(`${spec.name}.service`) },
    // 0600: the env files may hold an enrollment token or the first admin password.
    { path: `etc/${spec.name}/${spec.envFile}`, mode: 0o600, copyFrom: src(spec.envFile), conffile: true },
    ...spec.extraConffiles.map(([file, mode]) => ({
      path: `etc/${spec.name}/${file}`,
      mode,
      copyFrom: src(file),
      conffile: true,
    })),
    { path: `${doc}/copyright`, mode: 0o644, copyFrom: join(PACKAGING_DIR, "copyright") },
    { path: `${doc}/README.Debian`, mode: 0o644, copyFrom: src("README.Debian") },
    { path: `${doc}/changelog.Debian.gz`, mode: 0o644, data: gz(changelog(spec, o)) },
    { path: `usr/share/man/man1/${spec.name}.1.gz`, mode: 0o644, data: gz(manPage(spec, o)) },
    { path: `usr/share/lintian/overrides/${spec.name}`, mode: 0o644, copyFrom: src("lintian-overrides") },
  ];
}

function run(argv: string[], env?: Record<string, string>): string {
  const res = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  if (res.exitCode !== 0) {
    throw new Error(`${argv.join(" ")} failed (exit ${res.exitCode}):\n${res.stderr.toString()}${res.stdout}`);
  }
  return res.stdout.toString();
}

interface BuildOneOptions extends Meta {
  arch: DebArch;
  distDir: string;
  outDir: string;
  version: string;
  buildVersion: string;
  epoch: number;
  compression: Compression;
}

function buildOne(spec: PackageSpec, o: BuildOneOptions): string {
  const stage = mkdtempSync(join(tmpdir(), `rf-deb-${spec.name}-`));
  try {
    chmodSync(stage, 0o755); // the package's "./", which mkdtemp made 0700
    // Every directory 0755 whatever the umask; dpkg-deb --root-owner-group makes all of it root:root.
    const mkdir = (dir: string) => {
      mkdirSync(dir, { recursive: true });
      for (let d = dir; d.startsWith(stage) && d !== stage; d = dirname(d)) chmodSync(d, 0o755);
    };
    const entries = packageEntries(spec, o);
    let installedKiB = 0;
    const md5sums: string[] = [];
    for (const e of entries) {
      const dest = join(stage, e.path);
      mkdir(dirname(dest));
      if (e.copyFrom) copyFileSync(e.copyFrom, dest);
      else writeFileSync(dest, e.data ?? "");
      chmodSync(dest, e.mode);
      installedKiB += Math.ceil(statSync(dest).size / 1024);
      // Like dh_md5sums: conffiles are left out, dpkg tracks their checksums itself.
      if (!e.conffile) md5sums.push(`${createHash("md5").update(readFileSync(dest)).digest("hex")}  ${e.path}`);
    }
    for (const d of spec.extraDirs) mkdir(join(stage, d));

    const control = join(stage, "DEBIAN");
    mkdir(control);
    const write = (name: string, text: string, mode = 0o644) => {
      writeFileSync(join(control, name), text);
      chmodSync(join(control, name), mode);
    };
    write("control", controlFile(spec, { ...o, installedKiB }));
    write("md5sums", `${md5sums.sort((a, b) => (a.slice(34) < b.slice(34) ? -1 : 1)).join("\n")}\n`);
    const conffiles = entries.filter((e) => e.conffile).map((e) => `/${e.path}`);
    if (conffiles.length > 0) write("conffiles", `${conffiles.join("\n")}\n`);
    for (const script of ["postinst", "prerm", "postrm"]) {
      const file = join(PACKAGING_DIR, spec.dir, script);
      if (existsSync(file)) write(script, readFileSync(file, "utf8"), 0o755);
    }

    const deb = join(o.outDir, `${spec.name}_${o.version}_${o.arch}.deb`);
    rmSync(deb, { force: true });
    // SOURCE_DATE_EPOCH: dpkg-deb clamps every member's mtime to it, so a rebuild is identical.
    const { format, level } = o.compression;
    run(["dpkg-deb", "--root-owner-group", `-Z${format}`, `-z${level}`, "--build", stage, deb], {
      SOURCE_DATE_EPOCH: String(o.epoch),
    });
    return deb;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * dpkg-deb's compression. The default, xz at level 6 (dpkg's own), gives the smallest download
 * (about 40 MB for a 110 MB executable) but takes about 100 s per package; gzip at level 1 takes
 * a few seconds for about 55 MB, which suits tests. zstd is left out: dpkg before 1.21.18
 * (Debian bullseye) cannot install it.
 */
export interface Compression {
  format: "xz" | "gzip";
  level: number;
}
export const RELEASE_COMPRESSION: Compression = { format: "xz", level: 6 };
export const FAST_COMPRESSION: Compression = { format: "gzip", level: 1 };

export interface BuildDebsOptions {
  /** Where scripts/build-binaries.ts put the executables. */
  distDir: string;
  outDir: string;
  /**
   * The build version as the executables print it (0.1.0+74ab76b). Default: what this machine's
   * agent executable in distDir says (`restic-fleet-agent version`).
   */
  version?: string;
  /** Default: every architecture whose two executables are in distDir. */
  arches?: DebArch[];
  maintainer?: string;
  homepage?: string;
  /** File times, changelog and man page dates. Default: SOURCE_DATE_EPOCH, else the agent executable's mtime. */
  sourceDateEpoch?: number;
  /** Default RELEASE_COMPRESSION. */
  compression?: Compression;
}

export interface BuiltDeb {
  package: PackageSpec["name"];
  arch: DebArch;
  version: string;
  file: string;
}

export async function buildDebs(opts: BuildDebsOptions): Promise<BuiltDeb[]> {
  const { distDir, outDir } = opts;
  const present = (arch: DebArch) => PACKAGES.every((p) => existsSync(executablePath(distDir, p.name, arch)));
  const arches = opts.arches ?? DEB_ARCHES.filter(present);
  if (arches.length === 0) {
    throw new Error(`no linux executables in ${distDir}: run 'bun scripts/build-binaries.ts' first`);
  }
  for (const arch of arches) {
    for (const p of PACKAGES) {
      const file = executablePath(distDir, p.name, arch);
      if (!existsSync(file)) throw new Error(`${file} is missing: run 'bun scripts/build-binaries.ts'`);
      checkElf(file, arch);
    }
  }

  let buildVersion = opts.version;
  if (!buildVersion) {
    const host = hostDebArch();
    if (!host || !present(host)) {
      throw new Error(`cannot run this machine's executables from ${distDir} to read the version: pass --version`);
    }
    buildVersion = executableVersion(executablePath(distDir, "restic-fleet-agent", host));
    const server = executableVersion(executablePath(distDir, "restic-fleet-server", host));
    if (server !== buildVersion) throw new Error(`the agent is ${buildVersion} but the server is ${server}`);
  }
  const version = debianVersion(buildVersion);
  const fromEnv = Number(process.env.SOURCE_DATE_EPOCH);
  const epoch =
    opts.sourceDateEpoch ??
    (Number.isInteger(fromEnv) && fromEnv > 0
      ? fromEnv
      : Math.floor(statSync(executablePath(distDir, "restic-fleet-agent", arches[0] as DebArch)).mtimeMs / 1000));
  const meta: Meta = { maintainer: opts.maintainer ?? DEFAULT_MAINTAINER, homepage: opts.homepage };

  mkdirSync(outDir, { recursive: true });
  const built: BuiltDeb[] = [];
  for (const arch of arches) {
    for (const spec of PACKAGES) {
      const compression = opts.compression ?? RELEASE_COMPRESSION;
      const file = buildOne(spec, { ...meta, arch, distDir, outDir, version, buildVersion, epoch, compression });
      built.push({ package: spec.name, arch, version, file });
    }
  }
  return built;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      dist: { type: "string" },
      out: { type: "string" },
      arch: { type: "string" },
      version: { type: "string" },
      maintainer: { type: "string" },
      homepage: { type: "string" },
      fast: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "Usage: bun scripts/package-deb.ts [--dist dist] [--out dist] [--arch amd64,arm64] [--version V]\n" +
        '                                   [--maintainer "Name <mail>"] [--homepage URL] [--fast]\n' +
        "--version: the build version as the executables print it (default: ask this machine's agent).\n" +
        "--fast: gzip -1 instead of xz -6 (bigger packages, seconds instead of minutes).",
    );
    process.exit(0);
  }
  const arches = values.arch?.split(",").map((a) => a.trim());
  const bad = arches?.find((a) => !DEB_ARCHES.includes(a as DebArch));
  if (bad !== undefined) {
    console.error(`package-deb: unknown architecture "${bad}" (amd64 or arm64)`);
    process.exit(2);
  }
  const distDir = values.dist ?? join(ROOT, "dist");
  try {
    const built = await buildDebs({
      distDir,
      outDir: values.out ?? distDir,
      ...(arches ? { arches: arches as DebArch[] } : {}),
      ...(values.version ? { version: values.version } : {}),
      ...(values.maintainer ? { maintainer: values.maintainer } : {}),
      ...(values.homepage ? { homepage: values.homepage } : {}),
      ...(values.fast ? { compression: FAST_COMPRESSION } : {}),
    });
    for (const b of built) console.log(b.file);
  } catch (err) {
    console.error(`package-deb: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
