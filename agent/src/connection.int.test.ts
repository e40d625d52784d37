import { expect, test } from "bun:test";
import { connectOnce, HEARTBEAT_MS } from "./connection.ts";
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
  expect(await done).toEqual({ reason: "closed" });
  // Heartbeats went out at 30, 60 and 90 s; at 120 s the silence (over 90 s) ended it.
  expect(beats).toBe(3);
  server.stop(true);
});
