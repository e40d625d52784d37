// The agent's Chocolatey package: archive layout, content types, nuspec fields, the embedded
// executables (PE headers), a static check of the PowerShell scripts (no PowerShell here), and an
// install with a real NuGet v2 client (Debian's nuget 2.8.7 on mono, NuGet.Core as in Chocolatey 1.x).
// Builds the Windows executables into dist/ first when they are missing (slow the first time).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { buildTarget, buildVersion, TARGETS } from "./build-binaries.ts";
import { buildNupkg, CHOCO_DIR, type NupkgResult, nugetVersion, PACKAGE_EXES, packNupkg } from "./package-choco.ts";
import { findAll, parseXml, textOf } from "./package-choco-xml.ts";
import { readZip, writeZip, type ZipEntry } from "./package-choco-zip.ts";
import { readPeInfo } from "./pe-image.ts";

const ROOT = join(import.meta.dir, "..");
const DIST = join(ROOT, "dist");
// A fixed build version, so that the expected NuGet version is exact (see nugetVersion()).
const BUILD_VERSION = "0.1.0+74ab76b.dirty";
const VERSION = "0.1.0-dirty-74ab76b";
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("nugetVersion", () => {
  test("maps build versions to SemVer 1 versions NuGet 2.8 accepts", () => {
    expect(nugetVersion("0.1.0")).toBe("0.1.0");
    expect(nugetVersion("0.1.0+74ab76b")).toBe("0.1.0");
    expect(nugetVersion("0.1.0+74ab76b.dirty")).toBe("0.1.0-dirty-74ab76b");
    expect(nugetVersion("0.1.0-g74ab76b")).toBe("0.1.0-g74ab76b");
    expect(nugetVersion("0.2.0-rc.1+74ab76b")).toBe("0.2.0-rc-1");
    expect(nugetVersion("0.2.0-1")).toBe("0.2.0-pre-1");
  });

  test("refuses what it cannot map", () => {
    expect(() => nugetVersion("v0.1")).toThrow("not a version");
    expect(() => nugetVersion("0.1.0-averylongprerelease.tag")).toThrow("cannot map");
  });
});

describe("zip writer", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "choco-zip-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("round-trips entries, empty ones included, and unzip accepts the archive", async () => {
    const path = join(dir, "a.zip");
    const big = new TextEncoder().encode("restic ".repeat(10_000));
    await writeZip(path, [
      { name: "a.txt", data: new TextEncoder().encode("hello") },
      { name: "dir/empty.ignore", data: new Uint8Array(0) },
      { name: "dir/big.bin", data: big },
    ]);
    const entries = readZip(path);
    expect(entries.map((e) => [e.name, e.method, e.size])).toEqual([
      ["a.txt", 8, 5],
      ["dir/empty.ignore", 0, 0],
      ["dir/big.bin", 8, big.length],
    ]);
    expect(text(entries[0]?.read() ?? new Uint8Array())).toBe("hello");
    expect(sha256(entries[2]?.read() ?? new Uint8Array())).toBe(sha256(big));
    if (Bun.which("unzip")) {
      const t = Bun.spawnSync(["unzip", "-t", path]);
      expect(t.stdout.toString()).toContain("No errors detected");
    }
  });

  test("rejects bad names", async () => {
    const data = new Uint8Array(1);
    await expect(writeZip(join(dir, "b.zip"), [{ name: "tools\\x.ps1", data }])).rejects.toThrow("separators");
    await expect(
      writeZip(join(dir, "c.zip"), [
        { name: "A.txt", data },
        { name: "a.txt", data },
      ]),
    ).rejects.toThrow("duplicate");
  });
});

describe("XML parser", () => {
  test("parses elements, attributes, entities, comments and CDATA", () => {
    const doc = parseXml(
      `<?xml version="1.0"?>\n<!-- c --><a x='1' y="&lt;&amp;&#65;&#x42;"><b>t&gt;</b><b/><![CDATA[<raw>]]></a>\n`,
    );
    expect(doc.attrs).toEqual({ x: "1", y: "<&AB" });
    expect(findAll(doc, "b").map((b) => b.text)).toEqual(["t>", ""]);
    expect(doc.text).toBe("<raw>");
  });

  test("rejects XML that is not well-formed", () => {
    for (const bad of [
      "<a><b></a>",
      "<a>&nbsp;</a>",
      "<a x=1/>",
      "<a/><b/>",
      "<a>x & y</a>",
      "<a",
      '<a x="1" x="2"/>',
    ]) {
      expect(() => parseXml(bad), bad).toThrow("XML:");
    }
  });
});

// ---- the real package ----

const tmp = mkdtempSync(join(tmpdir(), "choco-pkg-"));
let pkg: NupkgResult;
let entries: Map<string, ZipEntry>;
const entry = (name: string): ZipEntry => {
  const e = entries.get(name);
  if (!e) throw new Error(`no ${name} in the package`);
  return e;
};

beforeAll(async () => {
  for (const t of TARGETS.filter((t) => t.bunTarget.startsWith("bun-windows"))) {
    if (existsSync(join(DIST, t.file))) continue;
    console.error(`building ${t.file} (first time: downloads the Windows runtime from npm)`);
    mkdirSync(DIST, { recursive: true });
    // the real build version: other tests and people use these executables too
    await buildTarget(t, DIST, buildVersion());
  }
  pkg = await buildNupkg({ distDir: DIST, outDir: join(tmp, "source"), version: BUILD_VERSION });
  entries = new Map(readZip(pkg.path).map((e) => [e.name, e]));
}, 600_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TOOLS = [
  "tools/chocolateyInstall.ps1",
  "tools/chocolateyUninstall.ps1",
  "tools/chocolateyBeforeModify.ps1",
  "tools/helpers.ps1",
  "tools/LICENSE.txt",
  "tools/VERIFICATION.txt",
  "tools/restic-fleet-agent-x64.exe",
  "tools/restic-fleet-agent-x64.exe.ignore",
  "tools/restic-fleet-agent-arm64.exe",
  "tools/restic-fleet-agent-arm64.exe.ignore",
];

describe("restic-fleet-agent.nupkg", () => {
  test("file name and archive layout as choco pack makes them", () => {
    expect(relative(join(tmp, "source"), pkg.path)).toBe(`restic-fleet-agent.${VERSION}.nupkg`);
    const names = [...entries.keys()];
    expect(names).toEqual(pkg.entries);
    const psmdcp = names.filter((n) => /^package\/services\/metadata\/core-properties\/[0-9a-f]{32}\.psmdcp$/.test(n));
    expect(psmdcp).toHaveLength(1);
    expect(names.sort()).toEqual(
      ["[Content_Types].xml", "_rels/.rels", "restic-fleet-agent.nuspec", ...psmdcp, ...TOOLS].sort(),
    );
    expect(entry("tools/restic-fleet-agent-x64.exe.ignore").size).toBe(0);
  });

  test("unzip -t accepts the archive", () => {
    if (!Bun.which("unzip")) {
      console.warn("SKIP unzip -t: unzip is not installed (apt-get install unzip); NuGet below still reads it");
      return;
    }
    const t = Bun.spawnSync(["unzip", "-t", pkg.path]);
    expect(t.exitCode).toBe(0);
    expect(t.stdout.toString()).toContain("No errors detected");
  });

  test("content types cover every part; relationships point at the nuspec and core properties", () => {
    const types = parseXml(text(entry("[Content_Types].xml").read()));
    expect(types.name).toBe("Types");
    expect(types.attrs.xmlns).toBe("http://schemas.openxmlformats.org/package/2006/content-types");
    const defaults = new Map(findAll(types, "Default").map((d) => [d.attrs.Extension, d.attrs.ContentType]));
    for (const name of entries.keys()) {
      if (name === "[Content_Types].xml") continue;
      const ext = name.slice(name.lastIndexOf(".") + 1).toLowerCase();
      expect(defaults.get(ext), `content type for ${name}`).toBeString();
    }
    expect(defaults.get("rels")).toBe("application/vnd.openxmlformats-package.relationships+xml");
    expect(defaults.get("psmdcp")).toBe("application/vnd.openxmlformats-package.core-properties+xml");
    expect(defaults.get("exe")).toBe("application/octet");

    const rels = parseXml(text(entry("_rels/.rels").read()));
    const targets = findAll(rels, "Relationship").map((r) => [r.attrs.Type, r.attrs.Target]);
    const psmdcp = [...entries.keys()].find((n) => n.endsWith(".psmdcp")) ?? "";
    expect(targets).toEqual([
      ["http://schemas.microsoft.com/packaging/2010/07/manifest", "/restic-fleet-agent.nuspec"],
      ["http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties", `/${psmdcp}`],
    ]);
    const core = parseXml(text(entry(psmdcp).read()));
    expect(textOf(core, "dc:identifier")).toBe("restic-fleet-agent");
    expect(textOf(core, "version")).toBe(VERSION);
    expect(textOf(core, "dc:creator")).toBe("Restic Fleet authors");
  });

  test("nuspec fields (2010/07 schema, depends on restic >= 0.14.0)", () => {
    const xml = text(entry("restic-fleet-agent.nuspec").read());
    const doc = parseXml(xml);
    expect(doc.name).toBe("package");
    expect(doc.attrs.xmlns).toBe("http://schemas.microsoft.com/packaging/2010/07/nuspec.xsd");
    expect(doc.children.map((c) => c.name)).toEqual(["metadata"]);
    const field = (name: string) => textOf(doc, name) ?? "";
    expect(field("id")).toBe("restic-fleet-agent");
    expect(field("version")).toBe(VERSION);
    expect(field("title")).toBe("Restic Fleet agent");
    for (const name of ["authors", "owners", "description", "summary", "tags", "releaseNotes"]) {
      expect(field(name), name).not.toBe("");
    }
    expect(field("tags").split(" ")).toContain("restic");
    expect(field("projectUrl")).toMatch(/^https:\/\//);
    // MIT, as in LICENSE: 2010/07 has no <license type="expression">, so its SPDX page.
    expect(field("licenseUrl")).toBe("https://spdx.org/licenses/MIT.html");
    expect(field("requireLicenseAcceptance")).toBe("false");
    expect(field("releaseNotes")).toContain(BUILD_VERSION);
    expect(field("description")).toContain("/Server:");
    expect(field("description")).toContain("/EnrollToken:");
    const deps = findAll(doc, "dependency").map((d) => [d.attrs.id, d.attrs.version]);
    expect(deps).toEqual([["restic", "0.14.0"]]);
    // NuGet 2.8 refuses a package in the 2015/06 namespace; the template's comments are not packaged.
    expect(xml).not.toContain("2015/06");
    expect(xml).not.toContain("<!--");
    expect(xml).not.toMatch(/\$[A-Za-z]+\$/);
  });

  test("embedded executables are PE32+ console images for x64 and arm64, listed in VERIFICATION.txt", () => {
    const verification = text(entry("tools/VERIFICATION.txt").read());
    expect(verification).toContain(BUILD_VERSION);
    for (const e of PACKAGE_EXES) {
      const path = join(tmp, e.tools);
      const data = entry(`tools/${e.tools}`).read();
      writeFileSync(path, data);
      expect(readPeInfo(path)).toMatchObject({ machine: e.machine, pe32plus: true, subsystem: "console" });
      expect(readPeInfo(path).machineCode).toBe(e.machine === "x64" ? 0x8664 : 0xaa64);
      expect(sha256(data)).toBe(sha256(readFileSync(join(DIST, e.dist))));
      expect(verification).toContain(`${sha256(data)}  tools/${e.tools}`);
    }
  });

  test("the scripts are the packaging/choco files, LICENSE.txt is the repository's LICENSE", () => {
    for (const name of [
      "chocolateyInstall.ps1",
      "chocolateyUninstall.ps1",
      "chocolateyBeforeModify.ps1",
      "helpers.ps1",
    ]) {
      expect(text(entry(`tools/${name}`).read())).toBe(readFileSync(join(CHOCO_DIR, "tools", name), "utf8"));
    }
    expect(text(entry("tools/LICENSE.txt").read())).toBe(readFileSync(join(ROOT, "LICENSE"), "utf8"));
    expect(text(entry("tools/LICENSE.txt").read())).toStartWith(
      "MIT License\n\nCopyright (c) 2026 Restic Fleet contributors\n",
    );
    expect(text(entry("tools/VERIFICATION.txt").read())).toContain("the MIT License");
  });
});

// ---- static checks of the PowerShell scripts (PowerShell cannot run here) ----

/**
 * A small PowerShell lexer: strips comments, checks that strings, here-strings, sub-expressions and
 * brackets are closed and matched. Returns the code without comments (strings kept), for searching.
 */
function lexPowerShell(src: string): { code: string; problems: string[] } {
  const problems: string[] = [];
  let i = 0;
  let code = "";
  const line = () => src.slice(0, i).split("\n").length;
  const pairs: Record<string, string> = { "(": ")", "{": "}", "[": "]" };

  function doubleQuoted(): void {
    // at the opening quote
    code += src[i++];
    while (i < src.length) {
      const c = src[i];
      if (c === "`") {
        code += src.slice(i, i + 2);
        i += 2;
      } else if (c === '"' && src[i + 1] === '"') {
        code += '""';
        i += 2;
      } else if (c === '"') {
        code += src[i++];
        return;
      } else if (c === "$" && src[i + 1] === "(") {
        code += "$(";
        i += 2;
        block(")");
      } else {
        code += src[i++];
      }
    }
    problems.push("unterminated double-quoted string");
  }

  function block(close: string | null): void {
    const stack: string[] = [];
    while (i < src.length) {
      const c = src[i] ?? "";
      const prev = i === 0 ? "\n" : (src[i - 1] ?? "");
      if (c === "<" && src[i + 1] === "#") {
        const end = src.indexOf("#>", i + 2);
        if (end < 0) return void problems.push(`unterminated block comment at line ${line()}`);
        i = end + 2;
      } else if (c === "#" && /[\s;({]/.test(prev)) {
        const end = src.indexOf("\n", i);
        i = end < 0 ? src.length : end;
      } else if (c === "@" && (src[i + 1] === '"' || src[i + 1] === "'") && /^[ \t]*\r?\n/.test(src.slice(i + 2))) {
        const q = src[i + 1];
        const end = src.slice(i).search(new RegExp(`\\n${q}@`));
        if (end < 0) return void problems.push(`unterminated here-string at line ${line()}`);
        code += src.slice(i, i + end + 3);
        i += end + 3;
      } else if (c === "'") {
        const start = line();
        code += src[i++];
        for (;;) {
          if (i >= src.length) return void problems.push(`unterminated single-quoted string at line ${start}`);
          if (src[i] === "'" && src[i + 1] === "'") {
            code += "''";
            i += 2;
          } else if (src[i] === "'") {
            code += src[i++];
            break;
          } else {
            code += src[i++];
          }
        }
      } else if (c === '"') {
        doubleQuoted();
      } else if (c === "`") {
        code += src.slice(i, i + 2);
        i += 2;
      } else if (c in pairs) {
        stack.push(pairs[c] ?? "");
        code += src[i++];
      } else if (c === ")" || c === "}" || c === "]") {
        if (stack.length === 0 && c === close) {
          code += src[i++];
          return;
        }
        const want = stack.pop();
        if (want !== c) problems.push(`unbalanced "${c}" at line ${line()} (expected ${want ?? "nothing"})`);
        code += src[i++];
      } else {
        code += src[i++];
      }
    }
    if (stack.length > 0) problems.push(`unclosed ${stack.reverse().join(" ")} at end of file`);
    if (close) problems.push(`unclosed sub-expression, expected "${close}"`);
  }

  block(null);
  return { code, problems };
}

describe("PowerShell scripts (static checks)", () => {
  const toolsDir = join(CHOCO_DIR, "tools");
  const read = (name: string) => readFileSync(join(toolsDir, name), "utf8");
  const lexed = (name: string) => {
    const r = lexPowerShell(read(name));
    expect(r.problems, name).toEqual([]);
    return r.code;
  };
  const scripts = ["chocolateyInstall.ps1", "chocolateyUninstall.ps1", "chocolateyBeforeModify.ps1"];
  const all = [...scripts, "helpers.ps1"];

  test("the lexer catches broken scripts", () => {
    expect(lexPowerShell("if ($a) { Write-Host 'x' ").problems).toEqual(["unclosed } at end of file"]);
    expect(lexPowerShell('Write-Host "a $($b.c"').problems.length).toBeGreaterThan(0);
    expect(lexPowerShell("$x = 'it''s'; # ) comment\n<# } #>\n$y = @(1, (2))").problems).toEqual([]);
    expect(lexPowerShell("$x = 'open").problems).toEqual(["unterminated single-quoted string at line 1"]);
    expect(lexPowerShell("$a = (1]").problems[0]).toContain('unbalanced "]"');
  });

  test("every script lexes cleanly and is ASCII", () => {
    for (const name of all) {
      lexed(name);
      expect(
        [...read(name)].every((ch) => ch.charCodeAt(0) < 0x80),
        `${name} is ASCII`,
      ).toBe(true);
    }
  });

  test("the scripts stop on errors and load the helpers that they call", () => {
    const helpers = lexed("helpers.ps1");
    const defined = new Set([...helpers.matchAll(/^function ([\w-]+)/gm)].map((m) => m[1]));
    for (const name of scripts) {
      const code = lexed(name);
      expect(code, name).toMatch(/^\$ErrorActionPreference = 'Stop'$/m);
      expect(code, name).toContain(". (Join-Path $toolsDir 'helpers.ps1')");
      for (const [call] of code.matchAll(/\b[A-Z][a-z]+-Agent[\w]*/g)) {
        expect(defined.has(call), `${name} calls ${call}, defined in helpers.ps1`).toBe(true);
      }
    }
    for (const [call] of helpers.matchAll(/\b[A-Z][a-z]+-Agent[\w]*/g)) {
      expect(defined.has(call), `helpers.ps1 calls ${call}`).toBe(true);
    }
  });

  test("install: parameters, architecture, enroll, scheduled task as SYSTEM at boot", () => {
    const install = lexed("chocolateyInstall.ps1");
    const helpers = lexed("helpers.ps1");
    expect(install).toContain("Get-PackageParameters");
    for (const p of ["'Server'", "'EnrollToken'", "'Fingerprint'"]) expect(install).toContain(p);
    expect(helpers).toContain("'StateDir'");
    expect(install).toContain("$env:PROCESSOR_ARCHITECTURE");
    expect(install).toContain("'AMD64' { $embedded = 'restic-fleet-agent-x64.exe' }");
    expect(install).toContain("'ARM64' { $embedded = 'restic-fleet-agent-arm64.exe' }");
    expect(install).toMatch(/Invoke-Agent -ExePath \$exe -Arguments @\('status'/);
    expect(install).toMatch(/\$enrollArgs = @\('enroll', '--server', \$server/);
    expect(install).toContain("$enrollArgs += @('--fingerprint', $fingerprint)");
    expect(install).toContain("Invoke-Agent -ExePath $exe -Arguments $enrollArgs");
    // The host policy is written once and kept (the administrator's edits survive upgrades).
    expect(install).toContain("Install-AgentPolicy -StateDir $stateDir");
    expect(helpers).toContain("if (Test-Path -LiteralPath $policy)");
    expect(install).toContain("$status.ExitCode -ne 3");
    expect(install).toContain("Install-BinFile -Name 'restic-fleet-agent'");
    expect(install).toContain("Register-AgentTask -ExePath $exe -StateDir $stateDir");
    expect(install).toContain("Start-ScheduledTask -TaskName $AgentTaskName");
    expect(helpers).toContain("Register-ScheduledTask -TaskName $AgentTaskName");
    expect(helpers).toContain("New-ScheduledTaskTrigger -AtStartup");
    expect(helpers).toContain(
      "New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest",
    );
    expect(helpers).toContain("-ExecutionTimeLimit ([TimeSpan]::Zero)");
    expect(helpers).toMatch(/-RestartCount \d+ -RestartInterval/);
    expect(helpers).toContain("-MultipleInstances IgnoreNew");
    expect(helpers).toContain("New-ScheduledTaskAction -Execute $ExePath -Argument ('run --state-dir");
  });

  test("the enrollment token is never on a command line or in output", () => {
    const install = lexed("chocolateyInstall.ps1");
    expect(install).toContain("$env:RF_ENROLL_TOKEN = $token");
    expect(install).toContain("Remove-Item -Path 'Env:\\RF_ENROLL_TOKEN'");
    expect(install).toContain(".Replace($token, '***')");
    for (const name of all) expect(lexed(name), name).not.toContain("--token'");
    for (const l of install.split("\n").filter((l) => /\$token\b/i.test(l))) {
      expect(l, "a line using $token").not.toMatch(/Write-|throw|Out-|Add-Content|Set-Content/);
      expect(l, "$token interpolated in a string").not.toMatch(/"[^"]*\$token\b[^"]*"/i);
    }
  });

  test("upgrade and uninstall: stop, unregister, remove; state kept unless /Purge", () => {
    expect(lexed("chocolateyBeforeModify.ps1")).toContain("Stop-Agent -ExePath");
    const uninstall = lexed("chocolateyUninstall.ps1");
    expect(uninstall).toContain("Get-PackageParameters");
    expect(uninstall).toContain("Unregister-ScheduledTask -TaskName $AgentTaskName");
    expect(uninstall).toContain("Stop-Agent -ExePath $exe");
    expect(uninstall).toContain("Uninstall-BinFile -Name 'restic-fleet-agent'");
    expect(uninstall).toContain("Remove-Item -LiteralPath $installDir -Recurse -Force");
    expect(uninstall).toMatch(/if \(\$pp\['Purge'\]\) \{\s+if \(Test-Path -LiteralPath \$stateDir\)/);
  });

  test("files taken from the package folder exist in the package", () => {
    const packaged = TOOLS.map((t) => t.slice("tools/".length));
    const exists = (pattern: string) => {
      const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
      return packaged.some((f) => re.test(f));
    };
    for (const name of all) {
      const code = lexed(name);
      for (const m of code.matchAll(/Join-Path \$toolsDir (?:'([^']+)'|\$(\w+))/g)) {
        const literals = m[1]
          ? [m[1]]
          : [...code.matchAll(new RegExp(`\\$${m[2]} = '([^']+)'`, "g"))].map((a) => a[1] ?? "");
        expect(literals.length, `${name}: values of $${m[2]}`).toBeGreaterThan(0);
        for (const f of literals) expect(exists(f), `${name} uses ${f} from the package`).toBe(true);
      }
    }
    // every embedded exe has its .ignore, and the install script picks each one
    for (const e of PACKAGE_EXES) {
      expect(packaged).toContain(`${e.tools}.ignore`);
      expect(lexed("chocolateyInstall.ps1")).toContain(`'${e.tools}'`);
    }
  });

  test("agent commands and flags used by the scripts exist in the agent CLI", () => {
    const main = readFileSync(join(ROOT, "agent", "src", "main.ts"), "utf8");
    const options = readFileSync(join(ROOT, "agent", "src", "cli", "options.ts"), "utf8");
    const code = all.map(lexed).join("\n");
    // flags passed to the agent ('--server') and flags in the hints the scripts print (restic-fleet-agent enroll --force ...)
    const hints = [...code.matchAll(/restic-fleet-agent (?:enroll|run|status)[^'"\n]*/g)].map((m) => m[0]).join(" ");
    const literals = [...code.matchAll(/'--[a-z-]+'/g)].map((m) => m[0]).join(" ");
    const flags = new Set([...`${hints} ${literals}`.matchAll(/--([a-z][a-z-]+)/g)].map((m) => m[1] ?? ""));
    expect([...flags].sort()).toEqual(["fingerprint", "force", "server", "state-dir", "token"]);
    for (const f of flags)
      expect(options, `--${f}`).toMatch(new RegExp(`["']?${f}["']?: \\{ type: "(string|boolean)"`));
    for (const cmd of ["status", "enroll", "run"]) expect(main).toContain(`case "${cmd}":`);
    expect(main).toContain("process.env.RF_ENROLL_TOKEN");
  });
});

// ---- install with a real NuGet v2 client ----

/** The nuget CLI, installed with apt-get when missing (as scripts/ensure-system-deps.sh does for restic). */
function ensureNuget(): { nuget: string } | { skip: string } {
  const found = Bun.which("nuget");
  if (found) return { nuget: found };
  if (!Bun.which("apt-get")) return { skip: "nuget is not installed and apt-get is not available" };
  const sudo = process.getuid?.() === 0 ? [] : Bun.which("sudo") ? ["sudo", "-n"] : null;
  if (!sudo) return { skip: "nuget is not installed, and installing it needs root (apt-get install nuget)" };
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const apt = (args: string[]) =>
    Bun.spawnSync([...sudo, "apt-get", "-o", "DPkg::Lock::Timeout=300", ...args], {
      env,
      stdout: "ignore",
      stderr: "pipe",
    });
  console.error("installing nuget (mono) with apt-get");
  let res = apt(["install", "-y", "-qq", "--no-install-recommends", "nuget"]);
  if (res.exitCode !== 0) {
    apt(["update", "-qq"]);
    res = apt(["install", "-y", "-qq", "--no-install-recommends", "nuget"]);
  }
  const nuget = Bun.which("nuget");
  return nuget ? { nuget } : { skip: `apt-get install nuget failed: ${res.stderr.toString().trim().slice(-300)}` };
}

const nuget = ensureNuget();
if ("skip" in nuget) console.warn(`SKIP NuGet install tests: ${nuget.skip}`);

function runNuget(args: string[], home: string) {
  const bin = "nuget" in nuget ? nuget.nuget : "nuget";
  // HOME in the temp dir keeps NuGet's config and caches off the machine; stdin closed, so it never prompts.
  const res = Bun.spawnSync([bin, ...args, "-NonInteractive"], {
    env: { ...process.env, HOME: home },
    stdin: "ignore",
    timeout: 180_000,
  });
  return { exitCode: res.exitCode, output: `${res.stdout.toString()}${res.stderr.toString()}` };
}

/** Every file under `dir`, as paths relative to it with "/" separators. */
function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path, base) : [relative(base, path).split("\\").join("/")];
  });
}

describe.skipIf("skip" in nuget)("install with NuGet 2.8.7 from a local folder source", () => {
  const stubNuspec = `<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2010/07/nuspec.xsd">
  <metadata>
    <id>restic</id>
    <version>0.14.0</version>
    <authors>test</authors>
    <description>A stub of the restic package, so that the dependency resolves from the local source.</description>
    <tags>stub</tags>
  </metadata>
</package>`;

  test("without restic in the source, the dependency does not resolve", () => {
    const lonely = join(tmp, "lonely");
    mkdirSync(lonely, { recursive: true });
    copyFileSync(pkg.path, join(lonely, relative(join(tmp, "source"), pkg.path)));
    const res = runNuget(
      [
        "install",
        "restic-fleet-agent",
        "-Source",
        lonely,
        "-OutputDirectory",
        join(tmp, "lonely-out"),
        "-NoCache",
        "-Prerelease",
      ],
      join(tmp, "home"),
    );
    expect(res.exitCode, res.output).not.toBe(0);
    expect(res.output).toContain("Unable to resolve dependency 'restic");
  });

  test("installs the package and its restic dependency; the files match the archive", async () => {
    const source = join(tmp, "source");
    await packNupkg({
      path: join(source, "restic.0.14.0.nupkg"),
      id: "restic",
      version: "0.14.0",
      nuspec: stubNuspec,
      files: [{ name: "tools/README.txt", data: new TextEncoder().encode("stub restic package\n") }],
    });
    const out = join(tmp, "installed");
    const res = runNuget(
      [
        "install",
        "restic-fleet-agent",
        "-Version",
        VERSION,
        "-Source",
        source,
        "-OutputDirectory",
        out,
        "-NoCache",
        "-Prerelease",
      ],
      join(tmp, "home"),
    );
    expect(res.exitCode, res.output).toBe(0);
    expect(res.output).toContain("Attempting to resolve dependency 'restic (≥ 0.14.0)'");
    expect(res.output).toContain("Successfully installed 'restic 0.14.0'");
    expect(res.output).toContain(`Successfully installed 'restic-fleet-agent ${VERSION}'`);
    expect(readdirSync(out).sort()).toEqual([`restic-fleet-agent.${VERSION}`, "restic.0.14.0"]);
    expect(listFiles(join(out, "restic.0.14.0")).sort()).toEqual(["restic.0.14.0.nupkg", "tools/README.txt"]);

    const dir = join(out, `restic-fleet-agent.${VERSION}`);
    const nupkgCopy = `restic-fleet-agent.${VERSION}.nupkg`;
    expect(listFiles(dir).sort()).toEqual([nupkgCopy, ...TOOLS].sort());
    expect(sha256(readFileSync(join(dir, nupkgCopy)))).toBe(sha256(readFileSync(pkg.path)));
    for (const name of TOOLS) {
      expect(sha256(readFileSync(join(dir, name))), name).toBe(sha256(entry(name).read()));
    }
    expect(readPeInfo(join(dir, "tools/restic-fleet-agent-x64.exe")).machine).toBe("x64");
    expect(readPeInfo(join(dir, "tools/restic-fleet-agent-arm64.exe")).machine).toBe("arm64");
  });
});
