// restic-fleet-server entry point. Issue 3 fills in the store, gateway and API; for now it
// serves /healthz so that `npm start` starts what exists.
import { Hono } from "hono";
import { PROTOCOL_VERSION } from "../../protocol/index.ts";

const app = new Hono();
app.get("/healthz", (c) => c.json({ ok: true, protocol_version: PROTOCOL_VERSION }));

const [host = "127.0.0.1", port = "8080"] = (process.env.RF_LISTEN ?? "127.0.0.1:8080").split(":");
const server = Bun.serve({ hostname: host, port: Number(port), fetch: app.fetch });
console.error(`restic-fleet-server listening on http://${server.hostname}:${server.port}`);
