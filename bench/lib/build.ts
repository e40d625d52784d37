// Compiles what the footprint figures compare: the agent and server executables (with the
// project's own build function and flags) and the bare baselines (same flags).
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildTarget, hostBunTarget, TARGETS } from "../../scripts/build-binaries.ts";

export const ROOT = join(import.meta.dir, "..", "..");
export const BENCH = join(ROOT, "bench");

export interface Binaries {
  agent: string;
  server: string;
  /** A compiled Bun program that only waits. */
  wait: string;
  /** A compiled Bun program that holds one idle WebSocket (the floor for a connected agent). */
  wsIdle: string;
  /** A compiled Bun program that prints "hello". */
  hello: string;
  /** A compiled bare Bun WebSocket server (the gateway's baseline). */
  bareWs: string;
  /** A compiled bare Bun.serve + bun:sqlite API (the HTTP API's baseline). */
  bareApi: string;
  version: string;
}

/** package.json's version; the build script's git lookup is skipped (the bench never runs git). */
function benchVersion(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  return `${pkg.version}+bench`;
}

async function compile(entry: string, outfile: string): Promise<string> {
  const result = await Bun.build({
    entrypoints: [entry],
    compile: { target: hostBunTarget(), outfile },
    minify: true,
    bytecode: true,
    format: "esm",
  });
  if (!result.success) throw new Error(`build of ${entry} failed:\n${result.logs.map(String).join("\n")}`);
  return outfile;
}

export async function buildAll(outDir: string, log: (msg: string) => void): Promise<Binaries> {
  mkdirSync(outDir, { recursive: true });
  const version = benchVersion();
  const started = performance.now();
  const own = (program: string) => {
    const t = TARGETS.find((x) => x.program === program && x.bunTarget === hostBunTarget());
    if (!t) throw new Error(`no ${program} target for ${hostBunTarget()} in scripts/build-binaries.ts`);
    return buildTarget(t, outDir, version);
  };
  const fixture = (name: string) => compile(join(BENCH, "fixtures", `${name}.ts`), join(outDir, `bench-${name}`));
  const bins: Binaries = {
    agent: await own("restic-fleet-agent"),
    server: await own("restic-fleet-server"),
    wait: await fixture("wait"),
    wsIdle: await fixture("ws-idle"),
    hello: await fixture("hello"),
    bareWs: await fixture("bare-ws-server"),
    bareApi: await fixture("bare-api-server"),
    version,
  };
  log(`built the agent, the server and 5 baselines in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return bins;
}
