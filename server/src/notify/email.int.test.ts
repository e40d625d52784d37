import { afterEach, describe, expect, test } from "bun:test";
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import type { AlertItem, Notification } from "../domain/channels.ts";
import { closedPort } from "../testing/recording-receiver.ts";
import { smtpTarget } from "./email.ts";
import { send } from "./send.ts";

interface Received {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
}

/** A real SMTP server on a random loopback port; `received` resolves with the first message. */
async function smtpReceiver(options: SMTPServerOptions = {}) {
  let deliver: (m: Received) => void = () => {};
  const received = new Promise<Received>((resolve) => {
    deliver = resolve;
  });
  const server = new SMTPServer({
    // No STARTTLS by default: smtp-server's own certificate is self-signed, which the sender refuses.
    disabledCommands: ["STARTTLS", "AUTH"],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        deliver({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
    ...options,
  });
  // A sender that refuses the certificate hangs up mid-handshake: expected here, not a failure.
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  servers.push(server);
  return { port, received };
}

const servers: SMTPServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** Just enough MIME for one text/plain part: unfolded headers, RFC 2047 words, QP or base64 body. */
function parse(raw: string) {
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
  const headers = new Map<string, string>();
  for (const line of head.split("\r\n")) {
    const i = line.indexOf(":");
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  const words = (s: string) =>
    s
      .replace(/\?=\s+=\?/g, "?==?")
      .replace(/=\?UTF-8\?([BQ])\?([^?]*)\?=/gi, (_, enc: string, text: string) =>
        enc.toUpperCase() === "B" ? Buffer.from(text, "base64").toString("utf8") : qp(text.replaceAll("_", " ")),
      );
  const qp = (s: string) =>
    Buffer.from(
      s
        .replace(/=\r?\n/g, "")
        .replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
      "latin1",
    ).toString("utf8");
  const cte = (headers.get("content-transfer-encoding") ?? "7bit").toLowerCase();
  const rawBody = raw.slice(split + 4);
  const body =
    cte === "base64"
      ? Buffer.from(rawBody, "base64").toString("utf8")
      : cte === "quoted-printable"
        ? qp(rawBody)
        : rawBody;
  return { subject: words(headers.get("subject") ?? ""), from: headers.get("from") ?? "", headers, body };
}

const alert = (host: string): AlertItem => ({
  id: `al_${host}`,
  condition: "backup_failed",
  host_id: `h_${host}`,
  host_name: host,
  labels: {},
  started_at: "2026-12-01T02:00:00Z",
  resolved_at: null,
  summary: `restic backup exited 1 on ${host}`,
});
const firing: Notification = {
  event: "alert.firing",
  alerts: [alert("web-01"), alert("web-02"), alert("db-01")],
  sent_at: "2026-12-01T02:00:30Z",
};
const mail = (smtp_url: string) => ({
  smtp_url,
  from: "fleet@example.com",
  to: ["ops@example.com", "oncall@example.org"],
});

describe("email", () => {
  test("a message to every recipient, the title as subject and the text as body", async () => {
    const s = await smtpReceiver();
    const result = await send("email", mail(`smtp://127.0.0.1:${s.port}`), firing);
    expect(result.ok).toBe(true);
    expect(result.status).toBe(250);
    const got = await s.received;
    expect(got.from).toBe("fleet@example.com");
    expect(got.to).toEqual(["ops@example.com", "oncall@example.org"]);
    const m = parse(got.raw);
    expect(m.subject).toBe("Firing: 3 hosts: backup failed — web-01, web-02, db-01");
    expect(m.from).toBe("Restic Fleet <fleet@example.com>");
    expect(m.headers.get("x-restic-fleet-event")).toBe("alert.firing");
    expect(m.body).toContain("3 hosts: backup failed — web-01, web-02, db-01");
    expect(m.body).toContain("• db-01: restic backup exited 1 on db-01");
  });

  test("a line starting with a dot survives (dot-stuffing is the library's)", async () => {
    const s = await smtpReceiver();
    const n = { ...firing, alerts: [{ ...alert("web-01"), host_name: ".hidden" }] };
    expect((await send("email", mail(`smtp://127.0.0.1:${s.port}`), n)).ok).toBe(true);
    expect(parse((await s.received).raw).body).toContain("• .hidden: restic backup exited 1");
  });

  test("AUTH with the user and password from smtp_url, percent-decoded", async () => {
    const s = await smtpReceiver({
      disabledCommands: ["STARTTLS"],
      authOptional: false,
      allowInsecureAuth: true, // loopback: see smtpTarget
      onAuth(auth, _session, callback) {
        if (auth.username === "fleet" && auth.password === "p@ss w:rd/1") return callback(null, { user: "fleet" });
        callback(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
      },
    });
    const result = await send("email", mail(`smtp://fleet:p%40ss%20w%3Ard%2F1@127.0.0.1:${s.port}`), firing);
    expect(result).toMatchObject({ ok: true, status: 250 });
    expect((await s.received).user).toBe("fleet");
  });

  test("a wrong password: not ok with the server's 535, and no password in the detail", async () => {
    const s = await smtpReceiver({
      disabledCommands: ["STARTTLS"],
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        callback(Object.assign(new Error(`Invalid password ${auth.password}`), { responseCode: 535 }));
      },
    });
    const result = await send("email", mail(`smtp://fleet:hunter2-wrong@127.0.0.1:${s.port}`), firing);
    expect(result.ok).toBe(false);
    expect(result.status).toBe(535);
    expect(result.detail).toStartWith(`authentication refused by 127.0.0.1:${s.port}`);
    expect(result.detail).toContain("535");
    expect(result.detail).not.toContain("hunter2");
  });

  test("a refused recipient: not ok with the server's answer", async () => {
    const s = await smtpReceiver({
      onRcptTo(address, _session, callback) {
        callback(Object.assign(new Error(`no such user ${address.address}`), { responseCode: 550 }));
      },
    });
    const result = await send("email", mail(`smtp://127.0.0.1:${s.port}`), firing);
    expect(result).toMatchObject({ ok: false, status: 550 });
    expect(result.detail).toContain("no such user");
  });

  test("certificates are verified: STARTTLS with a self-signed certificate fails", async () => {
    const s = await smtpReceiver({ disabledCommands: ["AUTH"] }); // offers STARTTLS with its own certificate
    const result = await send("email", mail(`smtp://127.0.0.1:${s.port}`), firing);
    expect(result).toMatchObject({ ok: false, status: null });
    expect(result.detail).toStartWith(`TLS failed with 127.0.0.1:${s.port}`);
    expect(result.detail).toContain("certificate");
  });

  test("smtps:// speaks TLS from the first byte, verified too", async () => {
    const s = await smtpReceiver({ secure: true });
    const result = await send("email", mail(`smtps://127.0.0.1:${s.port}`), firing);
    expect(result).toMatchObject({ ok: false, status: null });
    expect(result.detail).toStartWith(`TLS failed with 127.0.0.1:${s.port}`);
    expect(result.detail).toContain("certificate");
  });

  test("a server that is down: not ok, no status, a clear detail", async () => {
    const port = await closedPort();
    const result = await send("email", mail(`smtp://fleet:pw-secret@127.0.0.1:${port}`), firing);
    expect(result).toEqual({ ok: false, status: null, detail: `connection refused to 127.0.0.1:${port}` });
  });

  test("a server that never greets: not ok after timeoutMs", async () => {
    let opened: () => void = () => {};
    const connected = new Promise<void>((resolve) => {
      opened = resolve;
    });
    const silent = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: { open: () => opened(), data() {} },
    });
    try {
      const pending = send("email", mail(`smtp://127.0.0.1:${silent.port}`), firing, { timeoutMs: 300 });
      await connected;
      expect(await pending).toEqual({
        ok: false,
        status: null,
        detail: `no answer from 127.0.0.1:${silent.port} within 300 ms`,
      });
    } finally {
      silent.stop(true);
    }
  });

  test("what an smtp_url means", () => {
    expect(smtpTarget("smtps://u:p@mail.example.com")).toEqual({
      secure: true,
      host: "mail.example.com",
      port: 465,
      user: "u",
      pass: "p",
      requireTLS: false,
    });
    // A password over smtp:// to another machine: STARTTLS is required, not merely tried.
    expect(smtpTarget("smtp://u:p@mail.example.com")).toMatchObject({ port: 587, requireTLS: true });
    expect(smtpTarget("smtp://mail.example.com:25")).toMatchObject({ port: 25, requireTLS: false });
    expect(smtpTarget("smtp://u:p@127.0.0.1:25")).toMatchObject({ requireTLS: false });
    expect(smtpTarget("smtp://u:p@[::1]:25")).toMatchObject({ host: "::1", requireTLS: false });
  });
});
