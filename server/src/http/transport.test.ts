import { expect, test } from "bun:test";
import { Hono } from "hono";
import { parseTrustedProxies } from "./client-address.ts";
import { transport } from "./transport.ts";

/** Asks the rule about one request from `peer` (Bun's requestIP, as the server gives it). */
async function ask(allowInsecure: boolean, url: string, peer: string, headers: Record<string, string> = {}) {
  const t = transport(parseTrustedProxies(["10.0.0.5"]), allowInsecure);
  const app = new Hono().get("*", (c) => c.json({ https: t.https(c), secrets: t.secretsAllowed(c) }));
  const env = { requestIP: () => ({ address: peer, family: peer.includes(":") ? "IPv6" : "IPv4", port: 1 }) };
  const res = await app.request(url, { headers }, env);
  return (await res.json()) as { https: boolean; secrets: boolean };
}

test("secrets go over TLS or to a loopback peer; plain http from elsewhere only with --allow-insecure-agents", async () => {
  expect(await ask(false, "http://fleet/agent", "127.0.0.1")).toEqual({ https: false, secrets: true });
  expect(await ask(false, "http://fleet/agent", "::1")).toEqual({ https: false, secrets: true });
  expect(await ask(false, "http://fleet/agent", "::ffff:127.0.0.1")).toEqual({ https: false, secrets: true });
  expect(await ask(false, "http://fleet/agent", "192.0.2.7")).toEqual({ https: false, secrets: false });
  expect(await ask(false, "https://fleet/agent", "192.0.2.7")).toEqual({ https: true, secrets: true });
  expect(await ask(true, "http://fleet/agent", "192.0.2.7")).toEqual({ https: false, secrets: true });
});

test("X-Forwarded-Proto is believed from a trusted proxy only", async () => {
  const https = { "X-Forwarded-Proto": "https" };
  expect(await ask(false, "http://fleet/", "10.0.0.5", https)).toEqual({ https: true, secrets: true });
  expect(await ask(false, "http://fleet/", "192.0.2.7", https)).toEqual({ https: false, secrets: false });
});
