// Builds the single executables: restic-fleet-agent for 4 targets and restic-fleet-server for 2,
// into dist/, with SHA256SUMS. `--single` builds only this machine's target (for tests).
// Usage: bun scripts/build-binaries.ts [--single] [--out DIR]
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { IDLE_JIT_POLICY } from "../agent/src/jit-policy.ts";

const ROOT = join(import.meta.dir, "..");

export interface Target {
  program: "restic-fleet-agent" | "restic-fleet-server";
  bunTarget: "bun-linux-x64" | "bun-linux-arm64" | "bun-windows-x64" | "bun-windows-arm64";
  /** dist/ file name: <program>-<os>-<arch>[.exe] */
  file: string;
  entry: string;
}

const AGENT = "agent/src/main.ts";
const SERVER = "server/src/main.ts";

/** The explicit target list: the agent for linux and windows on x64 and arm64, the server for linux. */
export const TARGETS: Target[] = [
  { program: "restic-fleet-agent", bunTarget: "bun-linux-x64", file: "restic-fleet-agent-linux-x64", entry: AGENT },
  { program: "restic-fleet-agent", bunTarget: "bun-linux-arm64", file: "restic-fleet-agent-linux-arm64", entry: AGENT },
  {
    program: "restic-fleet-agent",
    bunTarget: "bun-windows-x64",
    file: "restic-fleet-agent-windows-x64.exe",
    entry: AGENT,
  },
  {
    program: "restic-fleet-agent",
    bunTarget: "bun-windows-arm64",
    file: "restic-fleet-agent-windows-arm64.exe",
    entry: AGENT,
  },
  { program: "restic-fleet-server", bunTarget: "bun-linux-x64", file: "restic-fleet-server-linux-x64", entry: SERVER },
  {
    program: "restic-fleet-server",
    bunTarget: "bun-linux-arm64",
    file: "restic-fleet-server-linux-arm64",
    entry: SERVER,
  },
];

export function hostBunTarget(): Target["bunTarget"] {
  const arch = process.arch === "arm64" ? "arm64" : "x64";
  return process.platform === "win32" ? `bun-windows-${arch}` : `bun-linux-${arch}`;
}

/** package.json's version plus the git commit, e.g. 0.1.0+3f1e2d4 (or +dirty when uncommitted). */
export function buildVersion(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  const rev = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT });
  const commit = rev.exitCode === 0 ? rev.stdout.toString().trim() : "";
  const dirty =
    Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { cwd: ROOT }).stdout.length > 0;
  return `${pkg.version}${commit ? `+${commit}${dirty ? ".dirty" : ""}` : ""}`;
}

export async function buildTarget(t: Target, outDir: string, version: string): Promise<string> {
  const outfile = join(outDir, t.file);
  const result = await Bun.build({
    entrypoints: [join(ROOT, t.entry)],
    // The agent starts with JavaScriptCore's JIT held back; it lifts it while a job runs (agent/src/jit-policy.ts).
    compile: {
      target: t.bunTarget,
      outfile,
      ...(t.program === "restic-fleet-agent" ? { jitPolicy: IDLE_JIT_POLICY } : {}),
    },
    minify: true,
    // --bytecode needs ESM here: its CJS default rejects the entry points' top-level await.
    bytecode: true,
    format: "esm",
    define: { RF_BUILD_VERSION: JSON.stringify(version) },
  });
  if (!result.success) {
    throw new Error(`build of ${t.file} failed:\n${result.logs.map((l) => String(l)).join("\n")}`);
  }
  return outfile;
}

export function writeChecksums(outDir: string, files: string[]): void {
  const lines = files.map((f) => {
    const hash = createHash("sha256")
      .update(readFileSync(join(outDir, f)))
      .digest("hex");
    return `${hash}  ${f}`;
  });
  writeFileSync(join(outDir, "SHA256SUMS"), `${lines.join("\n")}\n`);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { single: { type: "boolean" }, out: { type: "string" } },
  });
  const outDir = values.out ?? join(ROOT, "dist");
  const targets = values.single ? TARGETS.filter((t) => t.bunTarget === hostBunTarget()) : TARGETS;
  const version = buildVersion();
  if (!values.single) rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  for (const t of targets) {
    const started = performance.now();
    await buildTarget(t, outDir, version);
    console.error(`built ${t.file} (${t.bunTarget}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  writeChecksums(
    outDir,
    targets.map((t) => t.file),
  );
  console.error(`version ${version}; checksums in ${join(outDir, "SHA256SUMS")}`);
}
