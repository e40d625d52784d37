import { type Context, Hono } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import * as v from "valibot";
import { ResticHost } from "../../../protocol/index.ts";
import type { Domain } from "../domain/domain.ts";
import { DomainError } from "../domain/errors.ts";
import type { Connection, Gateway } from "../gateway/gateway.ts";
import { bearer } from "../http/auth.ts";
import { jsonBody } from "../http/validate.ts";

export const Enroll = v.object({
  token: v.pipe(v.string(), v.minLength(1, "is required"), v.maxLength(200)),
  // It becomes the host's restic host name (`--host`), so it must be one restic reads as a value.
  hostname: ResticHost,
});

/** For agents: POST /agent/enroll (enrollment token → agent token) and GET /agent/ws. */
export function agentRoutes(
  domain: Domain,
  gateway: Gateway,
  upgradeWebSocket: UpgradeWebSocket,
  secretsAllowed: (c: Context) => boolean,
) {
  return new Hono<{ Variables: { hostId: string } }>()
    .post("/enroll", async (c) => {
      const body = await jsonBody(c, Enroll);
      return c.json(domain.auth.enroll(body.token, body.hostname), 201);
    })
    .get(
      "/ws",
      async (c, next) => {
        // Checked before the upgrade: a wrong token gets 401 and no socket.
        const token = bearer(c);
        const hostId = token ? domain.auth.agentHost(token) : null;
        if (!hostId) {
          throw new DomainError(
            "unauthorized",
            token
              ? "agent token unknown or revoked: enroll this host again"
              : "missing Authorization: Bearer <agent token>",
          );
        }
        c.set("hostId", hostId);
        await next();
      },
      upgradeWebSocket((c) => {
        const hostId = c.get("hostId");
        // Decided while the request still exists: the socket's transport never changes.
        const secure = secretsAllowed(c);
        let conn: Connection | null = null;
        return {
          onOpen(_event, ws) {
            conn = gateway.open(hostId, {
              send: (text) => ws.send(text),
              close: (code, reason) => ws.close(code, reason),
              secure,
            });
          },
          onMessage(event, _ws) {
            if (conn) gateway.message(conn, event.data as string | ArrayBuffer);
          },
          onClose() {
            if (conn) gateway.close(conn);
          },
        };
      }),
    );
}
