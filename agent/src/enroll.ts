import { isLoopbackUrl, PinMismatch, type ServerTrust, tlsFor } from "./tls/server-trust.ts";

/**
 * Exchanges an enrollment token for this host's agent token (POST /api/v1/agent/enroll). Over
 * https the server's certificate is checked as `trust` says (a pin, a CA) before the token is
 * sent; plain http to a server that is not this machine is refused unless `insecure`.
 */
export async function enroll(
  serverUrl: string,
  token: string,
  hostname: string,
  trust: ServerTrust = {},
  insecure = false,
): Promise<{ host_id: string; agent_token: string }> {
  let url: URL;
  try {
    url = new URL("/api/v1/agent/enroll", serverUrl);
  } catch {
    throw new Error(`--server must be a URL such as https://fleet.example.com; got "${serverUrl}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`--server must be an https:// (or http://) URL; got "${serverUrl}"`);
  }
  if (url.protocol === "http:" && !isLoopbackUrl(url) && !insecure) {
    throw new Error(
      `refusing to enroll over plain http with ${url.origin}: the enrollment token, this host's agent token ` +
        "and the repository passwords would cross the network unencrypted, readable and replaceable by anyone " +
        "on the path. Use the server's https:// URL (serve --tls self-signed, then enroll with --fingerprint), " +
        "or pass --insecure to accept the risk",
    );
  }
  if (url.protocol === "http:" && trust.pins?.length) {
    throw new Error("--fingerprint pins the certificate of an https:// server; this server URL is http://");
  }
  let res: Response;
  try {
    const tls = await tlsFor(url, trust);
    res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token, hostname }),
      ...(tls ? { tls } : {}),
    } as RequestInit);
  } catch (err) {
    if (err instanceof PinMismatch) throw err;
    throw new Error(`cannot reach the server at ${url.origin}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const body = (await res.json().catch(() => null)) as {
    host_id?: string;
    agent_token?: string;
    error?: { message?: string };
  } | null;
  if (res.status !== 201 || !body?.host_id || !body.agent_token) {
    const why = body?.error?.message ?? `HTTP ${res.status}`;
    throw new Error(`enrollment refused by ${url.origin}: ${why}`);
  }
  return { host_id: body.host_id, agent_token: body.agent_token };
}
