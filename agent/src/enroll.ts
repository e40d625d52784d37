/** Exchanges an enrollment token for this host's agent token (POST /api/v1/agent/enroll). */
export async function enroll(
  serverUrl: string,
  token: string,
  hostname: string,
): Promise<{ host_id: string; agent_token: string }> {
  let url: URL;
  try {
    url = new URL("/api/v1/agent/enroll", serverUrl);
  } catch {
    throw new Error(`--server must be a URL such as https://fleet.example.com; got "${serverUrl}"`);
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token, hostname }),
    });
  } catch (err) {
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
