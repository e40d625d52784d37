import type { TestServer } from "../server/src/testing/harness.ts";
import { EventWatcher, type Fleet } from "./fleet.ts";

/**
 * The Fleet calls of e2e/fleet.ts over a server started in this process (startTestServer), so a
 * suite of real agents and real restic can also move the server's clock (ManualClock) and call
 * its sweeps, instead of waiting for wall time. Restarts and TLS reloads are the process fleet's.
 */
export function inProcessFleet(t: TestServer): Fleet {
  return {
    get url() {
      return t.url;
    },
    get token() {
      return t.adminToken;
    },
    dataDir: t.dataDir,
    serverLog: [],
    async restart() {
      await t.restart();
    },
    async reload() {
      throw new Error("an in-process fleet serves plain HTTP: use startFleet for TLS");
    },
    async api<T>(path: string, method = "GET", body?: unknown) {
      const r = await t.json<T>(`/api/v1${path}`, { method, ...(body === undefined ? {} : { body }) });
      return { status: r.status, body: r.body };
    },
    events: () => EventWatcher.open(t.url, t.adminToken),
    close: () => t.close(),
  };
}
