import nodemailer from "nodemailer";
import { type EmailConfig, type Notification, renderText } from "../domain/channels.ts";
import { DEFAULT_TIMEOUT_MS, type DeliveryResult, detailOf, type SendOptions } from "./result.ts";

/**
 * What an `smtp_url` means. `smtps://` is TLS from the first byte (default port 465); `smtp://`
 * (default port 587) upgrades with STARTTLS when the server offers it, and must if the URL carries
 * a password, unless the server is on loopback (a local relay): a password never crosses a network
 * in clear. Certificates are always verified; there is no switch to turn that off.
 */
export function smtpTarget(smtpUrl: string) {
  const u = new URL(smtpUrl);
  const secure = u.protocol === "smtps:";
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = u.port ? Number(u.port) : secure ? 465 : 587;
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  const loopback = host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
  return { secure, host, port, user, pass, requireTLS: !secure && pass !== "" && !loopback };
}

type SmtpError = Error & { code?: string; responseCode?: number; response?: string };

/** SMTP through nodemailer: STARTTLS, AUTH and dot-stuffing are a library's work, not ours. */
export async function sendEmail(config: EmailConfig, n: Notification, opts: SendOptions = {}): Promise<DeliveryResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const t = smtpTarget(config.smtp_url);
  const secrets = [config.smtp_url, t.pass, encodeURIComponent(t.pass), new URL(config.smtp_url).password];
  const target = `${t.host}:${t.port}`;
  const transport = nodemailer.createTransport({
    host: t.host,
    port: t.port,
    secure: t.secure,
    requireTLS: t.requireTLS,
    ...(t.user === "" ? {} : { auth: { user: t.user, pass: t.pass } }),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    tls: { rejectUnauthorized: true },
  });
  const { title, body } = renderText(n);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<DeliveryResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, status: null, detail: `no answer from ${target} within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const attempt = (async (): Promise<DeliveryResult> => {
    try {
      const info = await transport.sendMail({
        from: { name: "Restic Fleet", address: config.from },
        to: config.to,
        subject: title,
        text: body,
        headers: { "X-Restic-Fleet-Event": n.event },
      });
      const response = String(info.response ?? "");
      const rejected = (info.rejected ?? []).map(String);
      const said = rejected.length > 0 ? `${response}; refused recipients: ${rejected.join(", ")}` : response;
      return { ok: true, status: replyCode(response), detail: detailOf(said, secrets) };
    } catch (err) {
      const e = err as SmtpError;
      return { ok: false, status: e.responseCode ?? null, detail: detailOf(describe(e, target, timeoutMs), secrets) };
    }
  })();
  try {
    return await Promise.race([attempt, deadline]);
  } finally {
    clearTimeout(timer);
    transport.close();
  }
}

const replyCode = (response: string): number | null => {
  const m = /^(\d{3})/.exec(response);
  return m ? Number(m[1]) : null;
};

function describe(e: SmtpError, target: string, timeoutMs: number): string {
  const msg = e.message ?? "";
  if (/ECONNREFUSED/.test(msg) || e.code === "ECONNREFUSED") return `connection refused to ${target}`;
  if (e.code === "ETIMEDOUT" || /timeout/i.test(msg)) return `no answer from ${target} within ${timeoutMs} ms`;
  if (e.code === "EDNS" || /ENOTFOUND|EAI_AGAIN/.test(msg)) return `could not resolve ${target.replace(/:\d+$/, "")}`;
  if (e.code === "EAUTH") return `authentication refused by ${target}: ${e.response ?? msg}`;
  if (e.code === "EENVELOPE") return `recipients refused by ${target}: ${e.response ?? msg}`;
  if (e.code === "ETLS" || /certificate|TLS|SSL/i.test(msg)) return `TLS failed with ${target}: ${msg}`;
  return `SMTP to ${target} failed: ${e.code ? `${e.code}: ` : ""}${e.response ?? msg}`;
}
