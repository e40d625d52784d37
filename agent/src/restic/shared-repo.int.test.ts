import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  INT_TIMEOUT,
  RESTIC,
  type Real,
  realSupervisor,
  restic,
  type Sandbox,
  sandbox,
} from "../testing/int-helpers.ts";

/**
 * `--host` scoping: two hosts, web-a and web-b, back up the same path into one repository, as a
 * fleet sharing a repository does. Each host's retention, mirror and restores touch only its own
 * snapshots. The real restic, on both 0.14 and 0.18 (RF_TEST_RESTIC).
 *
 * beforeAll makes the six snapshots once; the tests only read that repository. A test that changes
 * a repository (forget, more backups) works on a copy of its own.
 */

let sb: Sandbox;
const copies: Sandbox[] = [];
let a: Real;
let b: Real;
let dir: string;
let file: string;

/** Snapshot ids per host, straight from the repository (not through the agent). */
async function idsOf(host: string, on: Sandbox = sb): Promise<string[]> {
  const out = await restic(on, ["snapshots", "--json", "--no-lock", `--host=${host}`]);
  return (JSON.parse(out.stdout) as Array<{ id: string; time: string }>)
    .sort((x, y) => x.time.localeCompare(y.time))
    .map((s) => s.id);
}

beforeAll(async () => {
  sb = await sandbox({ init: true });
  dir = join(sb.data, "srv");
  file = join(dir, "app.conf");
  await mkdir(dir, { recursive: true });
  a = realSupervisor(sb, { resticHost: "web-a", machineHostname: "web-a" });
  b = realSupervisor(sb, { resticHost: "web-b", machineHostname: "web-b" });
  // a1, b1, a2, b2, a3, b3: the same path, each host's own content, web-b always last.
  let n = 0;
  for (const round of [1, 2, 3]) {
    for (const [host, real] of [
      ["a", a],
      ["b", b],
    ] as const) {
      await writeFile(file, `host ${host} round ${round}\n`);
      const done = await real.run({ job_id: `${host}${round}-${++n}`, kind: "backup", args: [dir] });
      expect(done.status).toBe("succeeded");
    }
  }
}, 60_000); // six real backups
afterAll(() => Promise.all([sb, ...copies].map((s) => s?.cleanup())));

/** A sandbox with a copy of the shared repository as beforeAll left it, for a test that changes it. */
async function copyOfRepo(): Promise<Sandbox> {
  const copy = await sandbox({ repoFrom: sb.repoUrl });
  copies.push(copy);
  return copy;
}

/** A supervisor of its own for one test, so the recorders of a and b stay as beforeAll left them. */
const asHost = (on: Sandbox, name: string, machine = name) =>
  realSupervisor(on, { resticHost: name, machineHostname: machine });

describe(`a repository shared by two hosts, with ${RESTIC}`, () => {
  test("each backup carries its host's restic host name, and each mirror lists only its own", async () => {
    expect(await idsOf("web-a")).toHaveLength(3);
    expect(await idsOf("web-b")).toHaveLength(3);
    const mirrorA = a.rec.of("snapshots.report").at(-1)?.snapshots ?? [];
    const mirrorB = b.rec.of("snapshots.report").at(-1)?.snapshots ?? [];
    expect(mirrorA.map((s) => s.hostname)).toEqual(["web-a", "web-a", "web-a"]);
    expect(mirrorB.map((s) => s.hostname)).toEqual(["web-b", "web-b", "web-b"]);
    expect(mirrorA.map((s) => s.id)).toEqual(await idsOf("web-a"));
  });

  test(
    "restore latest restores the host's own data, byte for byte, though the other host backed up last",
    async () => {
      const a = asHost(sb, "web-a");
      const target = join(sb.root, "restore-a");
      const done = await a.run({ job_id: "ra", kind: "restore", spec: { snapshot_id: "latest", target } });
      expect(done.status).toBe("succeeded");
      expect(await readFile(join(target, file), "utf8")).toBe("host a round 3\n");
    },
    INT_TIMEOUT,
  );

  test(
    "a restore by id of another host's snapshot is refused, unless the spec names that host",
    async () => {
      const a = asHost(sb, "web-a");
      const theirs = (await idsOf("web-b")).at(-1) as string;
      const target = join(sb.root, "restore-b");
      const refused = await a.run({ job_id: "rb", kind: "restore", spec: { snapshot_id: theirs, target } });
      expect(refused.status).toBe("failed");
      expect(refused.stats?.failure_reason).toBe("other_host");
      expect(refused.error).toContain('belongs to host "web-b"');
      // nothing was restored
      expect(await readFile(join(target, file), "utf8").catch(() => "absent")).toBe("absent");

      const asked = await a.run({
        job_id: "rb2",
        kind: "restore",
        spec: { snapshot_id: theirs.slice(0, 8), target, source_host: "web-b" },
      });
      expect(asked.status).toBe("succeeded");
      expect(await readFile(join(target, file), "utf8")).toBe("host b round 3\n");
      // the short id was resolved to the full id that was checked
      const restoreCmd = a.rec.logLines.find((l) => l.job_id === "rb2" && l.payload.includes(" restore "));
      expect(restoreCmd?.payload).toContain(theirs);

      const missing = await a.run({ job_id: "rm", kind: "restore", spec: { snapshot_id: "deadbeef", target } });
      expect(missing).toMatchObject({ status: "failed", stats: { failure_reason: "snapshot_missing" } });
    },
    INT_TIMEOUT,
  );

  test(
    "each host's forget keeps exactly what its own policy keeps, and nothing of the other's",
    async () => {
      const repo = await copyOfRepo();
      const a = asHost(repo, "web-a");
      const b = asHost(repo, "web-b");
      const beforeA = await idsOf("web-a", repo);
      const beforeB = await idsOf("web-b", repo);
      const fa = await a.run({ job_id: "fa", kind: "forget", spec: { policy: { keep_last: 1 } } });
      expect(fa).toMatchObject({ status: "succeeded", stats: { snapshots_kept: 1, snapshots_removed: 2 } });
      expect(await idsOf("web-a", repo)).toEqual(beforeA.slice(-1));
      expect(await idsOf("web-b", repo)).toEqual(beforeB);

      const fb = await b.run({ job_id: "fb", kind: "forget", spec: { policy: { keep_last: 2 } } });
      expect(fb).toMatchObject({ status: "succeeded", stats: { snapshots_kept: 2, snapshots_removed: 1 } });
      expect(await idsOf("web-b", repo)).toEqual(beforeB.slice(-2));
      expect(await idsOf("web-a", repo)).toEqual(beforeA.slice(-1));
      // and the mirrors follow
      expect(
        a.rec
          .of("snapshots.report")
          .at(-1)
          ?.snapshots.map((s) => s.id),
      ).toEqual(beforeA.slice(-1));
      expect(
        b.rec
          .of("snapshots.report")
          .at(-1)
          ?.snapshots.map((s) => s.id),
      ).toEqual(beforeB.slice(-2));
    },
    INT_TIMEOUT,
  );

  test(
    "older snapshots under the machine's hostname: left alone by retention, restorable by id, named once in the log",
    async () => {
      // Its own copy of the repository, web-a's and web-b's snapshots in it, and its own data.
      const repo = await copyOfRepo();
      const dir = join(repo.data, "srv");
      const file = join(dir, "app.conf");
      await mkdir(dir, { recursive: true });
      // An agent before protocol 2 let restic write the machine's hostname ("box").
      await writeFile(file, "made by the old agent\n");
      expect((await restic(repo, ["backup", "-q", "--host=box", dir])).code).toBe(0);
      const old = (await idsOf("box", repo))[0] as string;
      const c = asHost(repo, "web-c", "box");
      await writeFile(file, "made by web-c\n");
      for (const id of ["c1", "c2"])
        expect((await c.run({ job_id: id, kind: "backup", args: [dir] })).status).toBe("succeeded");
      const notices = c.rec.logLines.filter((l) => l.payload.includes('machine\'s hostname "box"'));
      expect(notices.map((l) => l.job_id)).toEqual(["c1"]);
      expect(
        c.rec
          .of("snapshots.report")
          .at(-1)
          ?.snapshots.every((s) => s.hostname === "web-c"),
      ).toBe(true);

      const f = await c.run({ job_id: "fc", kind: "forget", spec: { policy: { keep_last: 1 } } });
      expect(f.status).toBe("succeeded");
      expect(await idsOf("box", repo)).toEqual([old]);
      expect(await idsOf("web-c", repo)).toHaveLength(1);

      const target = join(repo.root, "restore-old");
      const r = await c.run({ job_id: "rc", kind: "restore", spec: { snapshot_id: old, target } });
      expect(r.status).toBe("succeeded");
      expect(await readFile(join(target, file), "utf8")).toBe("made by the old agent\n");
    },
    INT_TIMEOUT * 2,
  );
});
