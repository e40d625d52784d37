import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, startFleet, tempDir } from "../e2e/fleet.ts";
import { TestHost } from "../e2e/host.ts";
import { buildTarget, buildVersion, TARGETS, writeChecksums } from "./build-binaries.ts";
import { readPeInfo } from "./pe-image.ts";

// Smoke tests of every artifact of `bun run build`: the 6 executables, built here into a temp dir.
const ROOT = join(import.meta.dir, "..");
const QEMU = ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"];
let out: string;
let version: string;

beforeAll(async () => {
  out = tempDir("rf-smoke-");
  version = buildVersion();
  for (const t of TARGETS) await buildTarget(t, out, version);
  writeChecksums(
    out,
    TARGETS.map((t) => t.file),
  );
});

afterAll(() => rmSync(out, { recursive: true, force: true }));

function run(cmd: string[]) {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test("SHA256SUMS lists all 6 executables with their real hashes", () => {
  const sums = readFileSync(join(out, "SHA256SUMS"), "utf8").trim().split("\n");
  expect(sums.length).toBe(6);
  for (const line of sums) {
    const [hash, file] = line.split(/\s+/) as [string, string];
    const real = new Bun.CryptoHasher("sha256").update(readFileSync(join(out, file))).digest("hex");
    expect(hash).toBe(real);
  }
});

describe("linux-x64", () => {
  for (const program of ["restic-fleet-agent", "restic-fleet-server"]) {
    test(`${program} runs version and --help`, () => {
      const bin = join(out, `${program}-linux-x64`);
      const v = run([bin, "version"]);
      expect(v.code).toBe(0);
      expect(v.stdout.trim()).toBe(`${program} ${version}`);
      const h = run([bin, "--help"]);
      expect(h.code).toBe(0);
      expect(h.stdout).toContain("Usage:");
    });
  }
});

describe("linux-arm64 under qemu user emulation", () => {
  for (const program of ["restic-fleet-agent", "restic-fleet-server"]) {
    test(`${program} runs version`, () => {
      const v = run([...QEMU, join(out, `${program}-linux-arm64`), "version"]);
      expect(v.stderr).toBe("");
      expect(v.stdout.trim()).toBe(`${program} ${version}`);
    });
  }

  test("the arm64 agent runs a real init and backup with arm64 restic against the x64 server", async () => {
    const work = tempDir("rf-smoke-arm64-");
    process.env.RF_TEST_SERVER_BIN = join(out, "restic-fleet-server-linux-x64");
    let fleet: Fleet | null = null;
    let host: TestHost | null = null;
    try {
      fleet = await startFleet();
      // Debian's arm64 restic, run under the same emulation through a small wrapper: the emulated
      // agent's exec of an arm64 binary would otherwise go to the host kernel, which cannot run it.
      const fetched = run(["bash", join(ROOT, "scripts/fetch-restic-arm64.sh")]);
      expect(fetched.code).toBe(0);
      const wrapper = join(work, "restic-arm64");
      writeFileSync(wrapper, `#!/bin/sh\nexec ${QEMU.join(" ")} ${fetched.stdout.trim()} "$@"\n`);
      chmodSync(wrapper, 0o755);

      host = new TestHost(fleet, work, [...QEMU, join(out, "restic-fleet-agent-linux-arm64")], wrapper);
      await host.watch();
      await host.enroll();
      await host.start();
      const data = join(work, "data");
      mkdirSync(data, { recursive: true });
      writeFileSync(join(data, "hello.txt"), "hello from arm64\n");
      const init = await host.run({ kind: "init" });
      expect(init.error).toBeNull();
      expect(init.status).toBe("succeeded");
      const backup = await host.run({ kind: "backup", spec: { paths: [data] } });
      expect(backup.status).toBe("succeeded");
      const h = await fleet.api<{ arch: string; restic_version: string }>(`/hosts/${host.hostId}`);
      expect(h.body.arch).toBe("arm64");
      expect(h.body.restic_version).toBe("0.14.0");
    } finally {
      await host?.stop();
      host?.events?.close();
      await fleet?.close();
      delete process.env.RF_TEST_SERVER_BIN;
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe("windows (cannot run here: checked as PE32+ images)", () => {
  for (const [file, machine] of [
    ["restic-fleet-agent-windows-x64.exe", "x64"],
    ["restic-fleet-agent-windows-arm64.exe", "arm64"],
  ] as const) {
    test(`${file} is a PE32+ image for ${machine}`, () => {
      const info = readPeInfo(join(out, file));
      expect(info.pe32plus).toBe(true);
      expect(info.machine).toBe(machine);
    });
  }
});
