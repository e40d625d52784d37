import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../testing/harness.ts";

// /healthz and a full disk, on a real small filesystem (a 4 MiB tmpfs) filled to the brim.
const mountPoint = join(tmpdir(), `rf-full-disk-${process.pid}`);
mkdirSync(mountPoint, { recursive: true });
const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint]).exitCode === 0;
if (!mounted) console.warn("health.int.test: cannot mount a tmpfs here (needs root); the full-disk test is skipped");

let t: TestServer;
const filler = join(mountPoint, "filler");

/** Writes until the filesystem refuses (ENOSPC): nothing is left for SQLite. */
function fillDisk(): void {
  const fd = openSync(filler, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let i = 0; i < 1024; i++) writeSync(fd, chunk);
  } catch {
    // ENOSPC: full
  }
  try {
    for (let i = 0; i < 4096; i++) writeSync(fd, chunk.subarray(0, 512));
  } catch {
    // ENOSPC: really full
  }
  closeSync(fd);
}

beforeAll(async () => {
  if (mounted) t = await startTestServer({ dataDir: join(mountPoint, "data") });
});
afterAll(async () => {
  await t?.close();
  if (mounted) Bun.spawnSync(["umount", mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

test.skipIf(!mounted)("a healthy server answers /healthz 200 ok", async () => {
  const r = await t.json("/healthz", { token: null });
  expect(r.status).toBe(200);
  expect(r.body).toMatchObject({ ok: true, protocol_version: expect.any(Number) });
});

test.skipIf(!mounted)(
  "a full disk: /healthz says so with 503, writes answer 507 naming the disk, and all recovers once there is room",
  async () => {
    fillDisk();
    const health = await t.json("/healthz", { token: null });
    expect(health.status).toBe(503);
    expect(health.body.ok).toBe(false);
    expect(health.body.problem).toContain("full");

    // Writes fail as soon as SQLite needs a page the disk cannot give (the WAL may still hold a few).
    let refused: { status: number; body: { error: { code: string; message: string } } } | null = null;
    for (let i = 0; i < 500 && !refused; i++) {
      const r = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: { uses: 1 } });
      if (r.status !== 201) refused = r;
    }
    expect(refused?.status).toBe(507);
    expect(refused?.body.error.code).toBe("storage_full");
    expect(refused?.body.error.message).toContain("disk is full");

    rmSync(filler);
    expect((await t.json("/healthz", { token: null })).status).toBe(200);
    const after = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: { uses: 1 } });
    expect(after.status).toBe(201);
  },
);
