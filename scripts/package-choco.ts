// Builds the agent's Chocolatey package, <out>/restic-fleet-agent.<version>.nupkg, without choco:
// the nuspec and tools/ from packaging/choco/, the two Windows executables from dist/ (see
// scripts/build-binaries.ts), and the Open Packaging Conventions parts that NuGet.Core 2.x (which
// Chocolatey CLI 1.x uses) expects, laid out as `choco pack` does. See packaging/choco/README.md.
// Usage: bun scripts/package-choco.ts [--dist dist] [--out dist] [--version V]
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildVersion } from "./build-binaries.ts";
import { writeZip, type ZipInput } from "./package-choco-zip.ts";
import { type PeMachine, readPeInfo } from "./pe-image.ts";

const ROOT = join(import.meta.dir, "..");
export const CHOCO_DIR = join(ROOT, "packaging", "choco");
export const PACKAGE_ID = "restic-fleet-agent";

/** The embedded executables: dist/ name (build-binaries.ts) -> tools/ name (picked by chocolateyInstall.ps1). */
export const PACKAGE_EXES: { dist: string; tools: string; machine: PeMachine }[] = [
  { dist: "restic-fleet-agent-windows-x64.exe", tools: "restic-fleet-agent-x64.exe", machine: "x64" },
  { dist: "restic-fleet-agent-windows-arm64.exe", tools: "restic-fleet-agent-arm64.exe", machine: "arm64" },
];

const SEMVER1 = /^\d+\.\d+\.\d+(-[A-Za-z][0-9A-Za-z-]*)?$/;

/**
 * Maps a build version (scripts/build-binaries.ts: `0.1.0+74ab76b`, `0.1.0+74ab76b.dirty`) to a
 * version NuGet 2.8 accepts: SemVer 1, so no `+build` metadata and no dots in the pre-release part,
 * which must start with a letter and stay within 20 characters (NuGet 2.x's limit).
 * - `0.1.0+74ab76b` -> `0.1.0`: build metadata does not take part in SemVer ordering, so dropping
 *   it keeps the order; the commit is kept in the nuspec's releaseNotes and VERIFICATION.txt.
 * - `0.1.0+74ab76b.dirty` -> `0.1.0-dirty-74ab76b`: a build from uncommitted sources must never pass
 *   for the release. As a pre-release it sorts below `0.1.0`, and choco installs it only with --pre.
 * - A SemVer 2 pre-release keeps its identifiers, joined with "-": `0.2.0-rc.1` -> `0.2.0-rc-1`.
 * A version that is already valid SemVer 1 (`0.1.0-g74ab76b`) is returned unchanged.
 */
export function nugetVersion(version: string): string {
  const m = /^(\d+\.\d+\.\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/.exec(version.trim());
  if (!m?.[1]) throw new Error(`not a version: "${version}" (expected e.g. 0.1.0, 0.1.0+74ab76b or 0.1.0-g74ab76b)`);
  const pre = m[2] ? m[2].split(".") : [];
  const meta = m[3] ? m[3].split(".") : [];
  if (meta.includes("dirty")) {
    pre.push("dirty", ...meta.filter((p) => p !== "dirty"));
  }
  let special = pre.join("-");
  if (special && !/^[A-Za-z]/.test(special)) special = `pre-${special}`;
  const result = special ? `${m[1]}-${special}` : m[1];
  if (!SEMVER1.test(result) || special.length > 20) {
    throw new Error(`cannot map "${version}" to a NuGet 2 version (got "${result}"); pass --version explicitly`);
  }
  return result;
}

const xmlEscape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Replaces $name$ tokens; fails on any token left over (a typo in a template). */
function render(template: string, values: Record<string, string>, what: string): string {
  const out = template.replace(/\$([A-Za-z]+)\$/g, (token, name: string) => values[name] ?? token);
  const left = /\$[A-Za-z]+\$/.exec(out);
  if (left) throw new Error(`${what}: unknown template token ${left[0]}`);
  return out;
}

/** The text of a simple element of the nuspec (already XML-escaped), for the core properties part. */
function nuspecField(nuspec: string, name: string): string {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(nuspec);
  if (!m?.[1]) throw new Error(`the nuspec has no <${name}>`);
  return m[1];
}

/** tools/LICENSE.txt: the repository's LICENSE (MIT), unchanged; the nuspec's licenseUrl names the same license. */
function licenseText(): Buffer {
  const path = join(ROOT, "LICENSE");
  if (!existsSync(path)) throw new Error(`${path} is missing: the package ships it as tools/LICENSE.txt`);
  return readFileSync(path);
}

/** [Content_Types].xml: one Default per extension, as NuGet's PackageBuilder writes it. */
function contentTypes(names: string[]): string {
  const special: Record<string, string> = {
    rels: "application/vnd.openxmlformats-package.relationships+xml",
    psmdcp: "application/vnd.openxmlformats-package.core-properties+xml",
  };
  const exts = [...new Set(names.map((n) => /\.([^./]+)$/.exec(n)?.[1]?.toLowerCase() ?? ""))];
  if (exts.includes("")) throw new Error("every package file needs an extension (a content type)");
  const defaults = exts.map(
    (ext) => `<Default Extension="${ext}" ContentType="${special[ext] ?? "application/octet"}" />`,
  );
  return `<?xml version="1.0" encoding="utf-8"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">${defaults.join("")}</Types>`;
}

/**
 * Writes a .nupkg at `path`: `<id>.nuspec` at the root, then `files`, plus the Open Packaging
 * Conventions parts NuGet reads (_rels/.rels, the .psmdcp core properties, [Content_Types].xml).
 * Returns the entry names in archive order. The test uses it for a stub `restic` package too.
 */
export async function packNupkg(opts: {
  path: string;
  id: string;
  version: string;
  nuspec: string;
  files: ZipInput[];
}): Promise<string[]> {
  const enc = (s: string) => new TextEncoder().encode(s);
  // NuGet names the core-properties part with a random GUID; a hash of id and version keeps builds reproducible.
  const partHash = createHash("sha256").update(`${opts.id}@${opts.version}`).digest("hex");
  const psmdcp = `package/services/metadata/core-properties/${partHash.slice(0, 32)}.psmdcp`;
  const nuspecName = `${opts.id}.nuspec`;
  const rels =
    `<?xml version="1.0" encoding="utf-8"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
    `<Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" Target="/${nuspecName}" Id="R${partHash.slice(32, 48)}" />` +
    `<Relationship Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="/${psmdcp}" Id="R${partHash.slice(48, 64)}" />` +
    "</Relationships>";
  const coreProperties =
    `<?xml version="1.0" encoding="utf-8"?>\n<coreProperties xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.openxmlformats.org/package/2006/metadata/core-properties">` +
    `<dc:creator>${nuspecField(opts.nuspec, "authors")}</dc:creator>` +
    `<dc:description>${nuspecField(opts.nuspec, "description")}</dc:description>` +
    `<dc:identifier>${opts.id}</dc:identifier>` +
    `<version>${opts.version}</version>` +
    `<keywords>${nuspecField(opts.nuspec, "tags")}</keywords>` +
    "<lastModifiedBy>restic-fleet scripts/package-choco.ts</lastModifiedBy>" +
    "</coreProperties>";
  const parts: ZipInput[] = [
    { name: "_rels/.rels", data: enc(rels) },
    { name: nuspecName, data: enc(opts.nuspec) },
    ...opts.files,
    { name: psmdcp, data: enc(coreProperties) },
  ];
  parts.push({ name: "[Content_Types].xml", data: enc(contentTypes(parts.map((p) => p.name))) });

  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  const tmp = `${opts.path}.tmp-${process.pid}`;
  await writeZip(tmp, parts, Number.isFinite(epoch) && epoch > 0 ? new Date(epoch * 1000) : new Date());
  renameSync(tmp, opts.path);
  return parts.map((p) => p.name);
}

export interface NupkgResult {
  path: string;
  /** the NuGet version in the file name and nuspec */
  version: string;
  /** zip entry names, in archive order */
  entries: string[];
}

/**
 * Builds `<outDir>/restic-fleet-agent.<nuget version>.nupkg` from the Windows executables in
 * `distDir`. `version` is a build version (0.1.0+74ab76b) or a NuGet version; see nugetVersion().
 */
export async function buildNupkg(opts: { distDir: string; outDir: string; version: string }): Promise<NupkgResult> {
  const version = nugetVersion(opts.version);
  const exes = PACKAGE_EXES.map((e) => {
    const path = join(opts.distDir, e.dist);
    if (!existsSync(path)) {
      throw new Error(`${path} is missing: build the Windows executables first (scripts/build-binaries.ts)`);
    }
    const pe = readPeInfo(path);
    if (pe.machine !== e.machine || !pe.pe32plus || pe.subsystem !== "console") {
      throw new Error(`${path} is not a 64-bit ${e.machine} console executable: ${JSON.stringify(pe)}`);
    }
    return { ...e, data: readFileSync(path) };
  });

  const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
  const releaseNotes = `Built from Restic Fleet ${opts.version}.`;
  // The template's comments are notes for maintainers: the packaged nuspec goes without them.
  const nuspec = render(
    readFileSync(join(CHOCO_DIR, `${PACKAGE_ID}.nuspec`), "utf8").replace(/<!--[\s\S]*?-->\r?\n?/g, ""),
    { version, releaseNotes: xmlEscape(releaseNotes) },
    `${PACKAGE_ID}.nuspec`,
  );

  const enc = (s: string) => new TextEncoder().encode(s);
  const tools: ZipInput[] = [];
  const toolsDir = join(CHOCO_DIR, "tools");
  for (const name of readdirSync(toolsDir).sort()) {
    if (!statSync(join(toolsDir, name)).isFile()) continue;
    const text = readFileSync(join(toolsDir, name), "utf8");
    const data =
      name === "VERIFICATION.txt"
        ? render(
            text,
            {
              buildVersion: opts.version,
              checksums: exes.map((e) => `  ${sha256(e.data)}  tools/${e.tools}`).join("\n"),
            },
            "VERIFICATION.txt",
          )
        : text;
    tools.push({ name: `tools/${name}`, data: enc(data) });
  }
  tools.push({ name: "tools/LICENSE.txt", data: licenseText() });
  for (const e of exes) {
    tools.push({ name: `tools/${e.tools}`, data: e.data });
    // An empty <exe>.ignore stops Chocolatey's shimgen from making a shim for <exe>: the install script
    // copies the exe to Program Files and shims that copy instead.
    tools.push({ name: `tools/${e.tools}.ignore`, data: new Uint8Array(0) });
  }

  mkdirSync(opts.outDir, { recursive: true });
  const path = join(opts.outDir, `${PACKAGE_ID}.${version}.nupkg`);
  const entries = await packNupkg({ path, id: PACKAGE_ID, version, nuspec, files: tools });
  return { path, version, entries };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { dist: { type: "string" }, out: { type: "string" }, version: { type: "string" } },
  });
  const distDir = values.dist ?? join(ROOT, "dist");
  const started = performance.now();
  try {
    const res = await buildNupkg({ distDir, outDir: values.out ?? distDir, version: values.version ?? buildVersion() });
    const mib = (statSync(res.path).size / 2 ** 20).toFixed(1);
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    console.error(`built ${res.path} (version ${res.version}, ${mib} MiB) in ${secs} s`);
  } catch (err) {
    console.error(`package-choco: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
