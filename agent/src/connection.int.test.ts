import { expect, test } from "bun:test";
import { type ConnectOptions, connectOnce, HEARTBEAT_MS } from "./connection.ts";
import { silentLogger } from "./log.ts";
import { FakeClock } from "./testing/fake-clock.ts";

// A real WebSocket to a server that accepts and then never says a word (a dead peer behind a live
// socket); the clock is injected, so 90 s of silence pass without waiting.
test("a server silent for more than 90 s is given up on: the connection ends and can be retried", async () => {
  const heard: string[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req, s) => (s.upgrade(req) ? undefined : new Response("no", { status: 400 })),
    websocket: { message: (_ws, m) => void heard.push(String(m)) },
  });
  const clock = new FakeClock();
  let opened!: () => void;
  const open = new Promise<void>((r) => {
    opened = r;
  });
  let beats = 0;
  const done = connectOnce({
    serverUrl: `http://127.0.0.1:${server.port}/`,
    token: "rfa_x",
    clock,
    log: silentLogger,
    onOpen: () => opened(),
    onMessage: () => {},
    onClose: () => {},
    heartbeat: () => `beat-${++beats}`,
  });
  await open;
  clock.advance(4 * HEARTBEAT_MS + 1);
  expect(await done).toEqual({ reason: "closed", detail: "closed (code 4008: server silent)" });
  // Heartbeats went out at 30, 60 and 90 s; at 120 s the silence (over 90 s) ended it.
  expect(beats).toBe(3);
  server.stop(true);
});

const once = (serverUrl: string, extra: Partial<ConnectOptions> = {}) =>
  connectOnce({
    serverUrl,
    token: "rfa_x",
    clock: new FakeClock(),
    log: silentLogger,
    onOpen: () => {},
    onMessage: () => {},
    onClose: () => {},
    heartbeat: () => "beat",
    ...extra,
  });

// What the "reconnecting" log line gives as its reason (agent.ts logs outcome.detail).
test("a connection that fails or ends says why: refused, an HTTP answer instead of a WebSocket, a close code", async () => {
  const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const freePort = closed.port;
  closed.stop(true);
  const refused = await once(`http://127.0.0.1:${freePort}/`);
  expect(refused).toEqual({ reason: "closed", detail: "Failed to connect (ECONNREFUSED)" });

  const proxy = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => new Response("bad gateway", { status: 502 }),
  });
  expect(await once(`http://127.0.0.1:${proxy.port}/`)).toEqual({
    reason: "closed",
    detail: "the server answered HTTP 502 instead of opening the WebSocket",
  });
  proxy.stop(true);

  const busy = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req, s) => (s.upgrade(req) ? undefined : new Response("no", { status: 400 })),
    websocket: { open: (ws) => ws.close(1013, "try again later"), message() {} },
  });
  expect(await once(`http://127.0.0.1:${busy.port}/`)).toEqual({
    reason: "closed",
    detail: "closed (code 1013: try again later)",
  });
  busy.stop(true);
});
