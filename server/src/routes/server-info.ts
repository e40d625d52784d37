import { Hono } from "hono";
import { agentDebName } from "../version.ts";

/**
 * GET /server-info, without authentication: the version, and the fingerprint of the certificate
 * the server serves (`sha256:<hex>`, null when it does not serve TLS itself), which an agent pins
 * with `enroll --fingerprint`. `tls_next_fingerprint` is the one announced for a rotation.
 * `agent_deb` names the agent's .deb of this release, for the Add hosts page's command.
 */
export function serverInfoRoutes(version: string, tls: () => { fingerprint: string; next: string | null } | null) {
  return new Hono().get("/", (c) => {
    const t = tls();
    return c.json({
      version,
      agent_deb: agentDebName(version),
      tls_fingerprint: t?.fingerprint ?? null,
      tls_next_fingerprint: t?.next ?? null,
    });
  });
}
