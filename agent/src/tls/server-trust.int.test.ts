import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fingerprintOf } from "./fingerprint.ts";
import { PinMismatch, tlsFor } from "./server-trust.ts";

// Pinning against real TLS servers: two self-signed certificates for the same name (openssl),
// each served by a real Bun server with a WebSocket route. A pin for A must never talk to B,
// whether B shows itself at the check (tlsFor) or only at the WebSocket's own handshake.
let dir: string;
const servers: Array<ReturnType<typeof Bun.serve>> = [];
const seen: string[] = [];

function selfSigned(name: string) {
  const r = Bun.spawnSync(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "1",
      "-subj",
      "/CN=fleet",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ],
    { cwd: dir },
  );
  if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return { cert: readFileSync(join(dir, `${name}.pem`), "utf8"), key: readFileSync(join(dir, `${name}.key`), "utf8") };
}

function serve(name: string, pair: { cert: string; key: string }) {
  const s = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: pair,
    fetch(req, server) {
      seen.push(`${name} ${req.headers.get("authorization") ?? "-"}`);
      return server.upgrade(req) ? undefined : new Response("no");
    },
    websocket: { message() {} },
  });
  servers.push(s);
  return `https://127.0.0.1:${s.port}`;
}

let a: { url: string; fp: string };
let b: { url: string; fp: string };

beforeAll(() => {
  if (!Bun.which("openssl")) throw new Error("openssl is missing: scripts/ensure-system-deps.sh installs it");
  dir = mkdtempSync(join(tmpdir(), "rf-pin-"));
  const pa = selfSigned("a");
  const pb = selfSigned("b");
  a = { url: serve("A", pa), fp: fingerprintOf(pa.cert) };
  b = { url: serve("B", pb), fp: fingerprintOf(pb.cert) };
});

afterAll(() => {
  for (const s of servers) s.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

/** Opens a WebSocket with these TLS options; resolves "open" or "refused". */
function dial(url: string, tls: unknown, token: string): Promise<"open" | "refused"> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url.replace("https:", "wss:"), { headers: { Authorization: token }, tls } as never);
    ws.addEventListener("open", () => {
      ws.close();
      resolve("open");
    });
    ws.addEventListener("close", () => resolve("refused"));
  });
}

test("pinned: the pinned server is reached; another certificate is refused at the check, before any request", async () => {
  const tls = await tlsFor(new URL(a.url), { pins: [a.fp] });
  expect(await dial(a.url, tls, "token-to-A")).toBe("open");
  const err = await tlsFor(new URL(b.url), { pins: [a.fp] }).catch((e) => e);
  expect(err).toBeInstanceOf(PinMismatch);
  expect(err.message).toContain(b.fp);
  expect(err.message).toContain(a.fp);
  expect(seen.filter((s) => s.startsWith("B"))).toEqual([]);
});

test("a server that changes its certificate after the check is refused by the WebSocket itself", async () => {
  // The options made for A, used against B: the certificate B presents does not verify.
  const tls = await tlsFor(new URL(a.url), { pins: [a.fp] });
  expect(await dial(b.url, tls, "token-to-B")).toBe("refused");
  expect(seen.filter((s) => s.startsWith("B"))).toEqual([]);
  const res = await fetch(`${b.url}/x`, { headers: { Authorization: "fetch-to-B" }, tls } as RequestInit).catch(
    (e) => e,
  );
  expect(res).toBeInstanceOf(Error);
  expect(seen.filter((s) => s.startsWith("B"))).toEqual([]);
});

test("without a pin, a self-signed certificate does not validate; with the CA given it does", async () => {
  expect(await dial(a.url, await tlsFor(new URL(a.url), {}), "no-ca")).toBe("refused");
  const ca = readFileSync(join(dir, "a.pem"), "utf8");
  expect(await dial(a.url, await tlsFor(new URL(a.url), { ca }), "with-ca")).toBe("open");
});
