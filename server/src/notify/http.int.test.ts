import { afterEach, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import type { AlertItem, Notification } from "../domain/channels.ts";
import { closedPort, type RecordingReceiver, recordingReceiver } from "../testing/recording-receiver.ts";
import { DISCORD_MAX_CONTENT } from "./discord.ts";
import { send } from "./send.ts";

const receivers: RecordingReceiver[] = [];
const receiver = (answer?: Parameters<typeof recordingReceiver>[0]) => {
  const r = recordingReceiver(answer);
  receivers.push(r);
  return r;
};
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.stop()));
});

const alert = (host: string, condition = "backup_failed"): AlertItem => ({
  id: `al_${host}`,
  condition,
  host_id: `h_${host}`,
  host_name: host,
  labels: { env: "prod" },
  started_at: "2026-12-01T02:00:00Z",
  resolved_at: null,
  summary: `restic backup exited 1 on ${host}`,
});
const firing: Notification = {
  event: "alert.firing",
  alerts: [alert("web-01"), alert("web-02"), alert("db-01")],
  sent_at: "2026-12-01T02:00:30Z",
};

describe("webhook", () => {
  test("a JSON POST of the Notification, signed over the exact body bytes", async () => {
    const r = receiver(() => new Response("thanks", { status: 202 }));
    const secret = "whsec-5f2b9c1e";
    const result = await send("webhook", { url: `${r.url}/hooks/rf`, secret }, firing);
    expect(result).toEqual({ ok: true, status: 202, detail: "202 Accepted: thanks" });
    const got = await r.next();
    expect(got.method).toBe("POST");
    expect(got.path).toBe("/hooks/rf");
    expect(got.headers["content-type"]).toBe("application/json");
    expect(got.headers["user-agent"]).toBe("restic-fleet-server");
    expect(got.headers["x-restic-fleet-event"]).toBe("alert.firing");
    // The receiver's check: HMAC of the bytes as received, compared with the header.
    const expected = `sha256=${createHmac("sha256", secret).update(got.body).digest("hex")}`;
    expect(got.headers["x-restic-fleet-signature"]).toBe(expected);
    expect(JSON.parse(got.text)).toEqual(firing);
    expect(Object.keys(JSON.parse(got.text))).toEqual(["event", "alerts", "sent_at"]);
  });

  test("no secret, no signature", async () => {
    const r = receiver();
    const result = await send("webhook", { url: r.url }, { event: "test", alerts: [], sent_at: firing.sent_at });
    expect(result.ok).toBe(true);
    const got = await r.next();
    expect(got.headers["x-restic-fleet-signature"]).toBeUndefined();
    expect(JSON.parse(got.text)).toEqual({ event: "test", alerts: [], sent_at: firing.sent_at });
  });

  test("a 500 is not ok, with the status and the start of the body; no secret in the detail", async () => {
    const secret = "whsec-never-shown";
    const r = receiver(() => new Response(`database is down; you sent ${secret} ${"x".repeat(2000)}`, { status: 500 }));
    const result = await send("webhook", { url: r.url, secret }, firing);
    expect(result.ok).toBe(false);
    expect(result.status).toBe(500);
    expect(result.detail).toStartWith("500 Internal Server Error: database is down; you sent [redacted] xxx");
    expect(result.detail.length).toBeLessThanOrEqual(500);
    expect(result.detail).not.toContain(secret);
  });

  test("a redirect is reported, not followed", async () => {
    const r = receiver(() => new Response(null, { status: 301, headers: { location: "https://elsewhere.example/h" } }));
    const result = await send("webhook", { url: r.url }, firing);
    expect(result).toMatchObject({ ok: false, status: 301 });
    expect(result.detail).toContain("redirect to https://elsewhere.example/h");
    expect(r.requests).toHaveLength(1);
  });

  test("a receiver that is down: not ok, no status, a clear detail", async () => {
    const port = await closedPort();
    const result = await send("webhook", { url: `http://127.0.0.1:${port}/h`, secret: "s3cret-x" }, firing);
    expect(result).toEqual({ ok: false, status: null, detail: `connection refused to 127.0.0.1:${port}` });
  });

  test("a receiver that never answers: not ok after timeoutMs", async () => {
    const r = receiver(() => new Promise<Response>(() => {}));
    const pending = send("webhook", { url: r.url }, firing, { timeoutMs: 200 });
    await r.next(); // it did arrive: what fails is the answer, not the connection
    const result = await pending;
    expect(result).toEqual({ ok: false, status: null, detail: `no answer from 127.0.0.1:${r.port} within 200 ms` });
  });

  test("an injected fetch is used", async () => {
    const seen: string[] = [];
    const fake = (async (input: string | URL | Request) => {
      seen.push(String(input));
      return new Response("", { status: 204 });
    }) as typeof fetch;
    const result = await send("webhook", { url: "https://hooks.example.com/x" }, firing, { fetch: fake });
    expect(result).toEqual({ ok: true, status: 204, detail: "204 No Content" });
    expect(seen).toEqual(["https://hooks.example.com/x"]);
  });
});

describe("ntfy", () => {
  test("the text as the body; title, priority and tags as headers; the token as a bearer", async () => {
    const r = receiver(() => Response.json({ id: "m1", event: "message" }));
    const result = await send("ntfy", { url: `${r.url}/fleet-alerts`, token: "tk_0123456789abcdef" }, firing);
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(result.detail).toContain('"id":"m1"');
    const got = await r.next();
    expect(got.method).toBe("POST");
    expect(got.path).toBe("/fleet-alerts");
    expect(got.headers.authorization).toBe("Bearer tk_0123456789abcdef");
    expect(got.headers.priority).toBe("4");
    expect(got.headers.tags).toBe("warning");
    expect(got.headers["content-type"]).toBe("text/plain; charset=utf-8");
    // The title holds an em dash: RFC 2047 base64, which ntfy decodes.
    const m = /^=\?UTF-8\?B\?(.+)\?=$/.exec(got.headers.title ?? "");
    expect(Buffer.from(m?.[1] ?? "", "base64").toString("utf8")).toBe(
      "Firing: 3 hosts: backup failed — web-01, web-02, db-01",
    );
    expect(got.text).toStartWith("3 hosts: backup failed — web-01, web-02, db-01\n• web-01: restic backup exited 1");
  });

  test("resolved: default priority, a check mark; no token, no authorization", async () => {
    const r = receiver();
    await send("ntfy", { url: `${r.url}/t` }, { ...firing, event: "alert.resolved" });
    const got = await r.next();
    expect(got.headers.priority).toBe("3");
    expect(got.headers.tags).toBe("white_check_mark");
    expect(got.headers.authorization).toBeUndefined();
  });

  test("a refused token: 401 and what ntfy said, without the token", async () => {
    const token = "tk_wrongwrongwrong";
    const r = receiver(
      (req) =>
        new Response(JSON.stringify({ code: 40101, error: `unauthorized: ${req.headers.authorization}` }), {
          status: 401,
        }),
    );
    const result = await send("ntfy", { url: `${r.url}/t`, token }, firing);
    expect(result).toMatchObject({ ok: false, status: 401 });
    expect(result.detail).toContain("40101");
    expect(result.detail).not.toContain(token);
  });
});

describe("slack", () => {
  test("an incoming-webhook JSON {text}, markup escaped", async () => {
    const r = receiver();
    const hook = `${r.url}/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX`;
    const result = await send("slack", { webhook_url: hook }, { ...firing, alerts: [alert("<!channel>")] });
    expect(result).toEqual({ ok: true, status: 200, detail: "200 OK: ok" });
    const got = await r.next();
    expect(got.path).toBe("/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX");
    expect(got.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(got.text);
    expect(Object.keys(body)).toEqual(["text"]);
    expect(body.text).toStartWith("*Firing: 1 host: backup failed — &lt;!channel&gt;*\n1 host: backup failed");
    expect(body.text).not.toContain("<!channel>");
  });

  test("Slack's error answer comes back without the webhook URL", async () => {
    const r = receiver((req) => new Response(`no_service for ${req.path}`, { status: 404 }));
    const hook = `${r.url}/services/T000/B000/SECRETSECRETSECRET`;
    const result = await send("slack", { webhook_url: hook }, firing);
    expect(result).toEqual({ ok: false, status: 404, detail: "404 Not Found: no_service for [redacted]" });
  });

  test("a down Slack names only host and port, never the URL's secret path", async () => {
    const port = await closedPort();
    const result = await send("slack", { webhook_url: `http://127.0.0.1:${port}/services/T/B/SECRETPATH` }, firing);
    expect(result).toEqual({ ok: false, status: null, detail: `connection refused to 127.0.0.1:${port}` });
  });

  test("long text is cut to Slack's limit", async () => {
    const r = receiver();
    const many = Array.from({ length: 20 }, (_, i) => ({ ...alert(`host-${i}`), summary: "e".repeat(290) }));
    await send("slack", { webhook_url: `${r.url}/s` }, { ...firing, alerts: many });
    const { text } = JSON.parse((await r.next()).text);
    expect(text.length).toBeLessThanOrEqual(4000);
    expect(text).toEndWith("… (cut: see the fleet's alerts page)");
  });
});

describe("discord", () => {
  test("a webhook JSON {content} with mentions off; Discord's 204 is ok", async () => {
    const r = receiver(() => new Response(null, { status: 204 }));
    const result = await send("discord", { webhook_url: `${r.url}/api/webhooks/1/tok` }, firing);
    expect(result).toEqual({ ok: true, status: 204, detail: "204 No Content" });
    const body = JSON.parse((await r.next()).text);
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.content).toStartWith("**Firing: 3 hosts: backup failed — web-01, web-02, db-01**\n3 hosts:");
  });

  test("content past 2000 characters is cut safely, emoji whole", async () => {
    const r = receiver(() => new Response(null, { status: 204 }));
    // 60 hosts with emoji-laden summaries: far over 2000, and cut points land inside emoji pairs.
    const many = Array.from({ length: 60 }, (_, i) => ({ ...alert(`web-${i}`), summary: "💾".repeat(40) }));
    await send("discord", { webhook_url: `${r.url}/api/webhooks/1/tok` }, { ...firing, alerts: many });
    const got = await r.next();
    const { content } = JSON.parse(got.text) as { content: string };
    expect(content.length).toBeLessThanOrEqual(DISCORD_MAX_CONTENT);
    expect(content).toEndWith("… (cut: see the fleet's alerts page)");
    expect(() => encodeURIComponent(content)).not.toThrow(); // no lone surrogate
    expect(got.text).not.toMatch(/\\ud83d(?!\\udc)/i);
  });

  test("a rate limit is not ok, with Discord's answer", async () => {
    const r = receiver(() =>
      Response.json({ message: "You are being rate limited.", retry_after: 1.5 }, { status: 429 }),
    );
    const result = await send("discord", { webhook_url: `${r.url}/api/webhooks/1/SECRETTOKEN` }, firing);
    expect(result).toMatchObject({ ok: false, status: 429 });
    expect(result.detail).toContain("You are being rate limited.");
  });
});
