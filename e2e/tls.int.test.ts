import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Fleet, runAgentCli, serverCommand, startFleet, tempDir } from "./fleet.ts";
import { TestHost } from "./host.ts";

// Built-in TLS end to end: the real server with --tls self-signed (or a certificate from a test
// CA), the compiled agent enrolled over https, and real restic.
let work: string;
let fleet: Fleet;

type Info = { tls_fingerprint: string | null; tls_next_fingerprint: string | null };
const identity = (h: TestHost) =>
  JSON.parse(readFileSync(join(h.stateDir, "identity.json"), "utf8")) as { tls_pins?: string[] };

beforeAll(async () => {
  work = tempDir("rf-e2e-tls-");
  fleet = await startFleet({ serverArgs: ["--tls", "self-signed", "--tls-name", "127.0.0.1"] });
});

afterAll(async () => {
  await fleet?.close();
  rmSync(work, { recursive: true, force: true });
});

async function pinnedHost(name: string, fingerprint: string): Promise<TestHost> {
  const h = new TestHost(fleet, join(work, name));
  await h.watch();
  await h.enroll({ hostname: name, args: ["--fingerprint", fingerprint] });
  await h.start();
  return h;
}

test("enroll pinned over https, back up, and reconnect after the server restarts", async () => {
  expect(fleet.url).toStartWith("https://");
  const info = (await fleet.api<Info>("/server-info")).body;
  expect(info.tls_fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
  const fp = info.tls_fingerprint as string;
  const h = await pinnedHost("tls-a", fp);
  try {
    expect(identity(h).tls_pins).toEqual([fp]);
    expect((await h.run({ kind: "init" })).status).toBe("succeeded");
    const data = join(work, "data");
    writeFileSync(data, "x");
    expect((await h.run({ kind: "backup", spec: { paths: [data] } })).status).toBe("succeeded");
    await fleet.restart();
    const events = await h.watch();
    await events.until((e) => e.type === "host.updated" && e.host_id === h.hostId && e.online === true);
    expect((await h.run({ kind: "backup", spec: { paths: [data] } })).status).toBe("succeeded");
  } finally {
    await h.stop();
    h.events?.close();
  }
});

test("a rotation: the next certificate is announced without a disconnect, then served, and pinned agents follow", async () => {
  const before = (await fleet.api<Info>("/server-info")).body.tls_fingerprint as string;
  const h = await pinnedHost("tls-rot", before);
  try {
    const agent = h.agent;
    if (!agent) throw new Error("no agent");
    const step = (args: string[]) => {
      const r = Bun.spawnSync([...serverCommand(), "tls", "rotate", ...args, "--data-dir", fleet.dataDir]);
      expect(r.exitCode).toBe(0);
      return r.stdout.toString();
    };
    const next = /sha256:[0-9a-f]{64}/.exec(step([]))?.[0] as string;
    const mark = agent.log.length;
    await fleet.reload();
    await agent.logUntil(/announced its certificates/, mark);
    expect(identity(h).tls_pins).toEqual([before, next]);
    expect(agent.log.slice(mark).join("")).not.toContain("disconnected from server");
    expect((await fleet.api<Info>("/server-info")).body).toMatchObject({
      tls_fingerprint: before,
      tls_next_fingerprint: next,
    });

    step(["--switch"]);
    await fleet.reload();
    expect((await fleet.api<Info>("/server-info")).body).toMatchObject({
      tls_fingerprint: next,
      tls_next_fingerprint: null,
    });
    // A new connection meets the new certificate, and the agent accepts it.
    await h.stop();
    await h.start();
    expect((await h.run({ kind: "init" })).status).toBe("succeeded");
    expect(identity(h).tls_pins).toEqual([next]);
  } finally {
    await h.stop();
    h.events?.close();
  }
});

test("the same database behind another certificate: the pinned agent refuses it and sends nothing", async () => {
  const fp = (await fleet.api<Info>("/server-info")).body.tls_fingerprint as string;
  const h = await pinnedHost("tls-b", fp);
  try {
    const agent = h.agent;
    if (!agent) throw new Error("no agent");
    const seenBefore = (await fleet.api<{ last_seen_at: string }>(`/hosts/${h.hostId}`)).body.last_seen_at;
    const mark = agent.log.length;
    // Someone else's server on the same address and data: a new certificate.
    await fleet.restart(async () => rmSync(join(fleet.dataDir, "tls"), { recursive: true, force: true }));
    const line = await agent.logUntil(/presented a certificate with fingerprint/, mark);
    const other = (await fleet.api<Info>("/server-info")).body.tls_fingerprint as string;
    expect(other).not.toBe(fp);
    expect(line).toContain(other);
    expect(line).toContain(fp);
    expect(line).toContain("enroll this host again with the new fingerprint");
    // It never said hello: the server saw no token and no frame from it.
    const host = (await fleet.api<{ online: boolean; last_seen_at: string }>(`/hosts/${h.hostId}`)).body;
    expect(host.online).toBe(false);
    expect(host.last_seen_at).toBe(seenBefore);
    expect(agent.log.slice(mark).join("")).not.toContain("connected to server");
  } finally {
    await h.stop();
    h.events?.close();
  }
});

test("enroll refuses a wrong fingerprint, and plain http to a server off this machine without --insecure", () => {
  const state = join(work, "refused");
  const wrong = runAgentCli([
    "enroll",
    "--server",
    fleet.url,
    "--token",
    "rfe_x",
    "--state-dir",
    state,
    "--fingerprint",
    `sha256:${"0".repeat(64)}`,
  ]);
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toContain("presented a certificate with fingerprint");
  expect(existsSync(join(state, "identity.json"))).toBe(false);
  const plain = runAgentCli(["enroll", "--server", "http://192.0.2.10:8080", "--token", "rfe_x", "--state-dir", state]);
  expect(plain.code).toBe(1);
  expect(plain.stderr).toContain("refusing to enroll over plain http");
  expect(plain.stderr).toContain("--insecure");
});

/** A test CA and a server certificate it signed for 127.0.0.1, made with openssl. */
function testCa(dir: string) {
  const run = (args: string[]) => {
    const r = Bun.spawnSync(["openssl", ...args], { cwd: dir });
    if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr.toString()}`);
  };
  run([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=Restic Fleet test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
  ]);
  run([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  ]);
  writeFileSync(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  run([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ]);
  return { ca: join(dir, "ca.pem"), cert: join(dir, "server.pem"), key: join(dir, "server.key") };
}

test("a certificate from a CA: trusted without a pin with --ca or NODE_EXTRA_CA_CERTS, refused without", async () => {
  if (!Bun.which("openssl")) throw new Error("openssl is missing: scripts/ensure-system-deps.sh installs it");
  const dir = tempDir("rf-e2e-ca-");
  const ca = testCa(dir);
  const caFleet = await startFleet({ serverArgs: ["--tls-cert", ca.cert, "--tls-key", ca.key], ca: ca.ca });
  const hosts: TestHost[] = [];
  try {
    const token = async () =>
      (await caFleet.api<{ token: string }>("/enrollment-tokens", "POST", { uses: 1 })).body.token;
    const enroll = async (name: string, args: string[], env: Record<string, string> = {}) =>
      runAgentCli(
        ["enroll", "--server", caFleet.url, "--token", await token(), "--state-dir", join(dir, name, "state"), ...args],
        env,
      );
    const untrusted = await enroll("none", []);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toContain("cannot reach the server");
    expect((await enroll("flag", ["--ca", ca.ca])).code).toBe(0);
    expect((await enroll("env", [], { NODE_EXTRA_CA_CERTS: ca.ca })).code).toBe(0);
    // Both reach the server's socket: online, with no pin stored.
    for (const [name, env] of [
      ["flag", {}],
      ["env", { NODE_EXTRA_CA_CERTS: ca.ca }],
    ] as const) {
      const h = new TestHost(caFleet, join(dir, name));
      hosts.push(h);
      h.hostId = (JSON.parse(readFileSync(join(h.stateDir, "identity.json"), "utf8")) as { host_id: string }).host_id;
      await h.watch();
      await h.start(env);
      expect(identity(h).tls_pins).toBeUndefined();
    }
  } finally {
    for (const h of hosts) {
      await h.stop();
      h.events?.close();
    }
    await caFleet.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
