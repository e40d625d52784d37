import { isIP } from "node:net";
import { hostname } from "node:os";
import { CertificateError } from "../tls/certificate.ts";
import { certificateNames, loadServedTls, type ServedTls, type TlsSetting } from "../tls/served-tls.ts";
import { UsageError } from "./usage-error.ts";

export interface TlsFlags {
  tls?: string | undefined;
  "tls-cert"?: string | undefined;
  "tls-key"?: string | undefined;
  "tls-next-cert"?: string | undefined;
  "tls-name"?: string[] | undefined;
}

const list = (v: string | undefined) =>
  (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * The TLS setting of `serve`, from its flags or their RF_ variables: `--tls-cert` with
 * `--tls-key`, or `--tls self-signed` (names from `--tls-name`, by default this machine's
 * hostname, localhost and the listen address), or none (plain HTTP).
 */
export function tlsSettingFrom(
  flags: TlsFlags,
  env: Record<string, string | undefined>,
  dataDir: string,
  listenHost: string,
): TlsSetting | null {
  const mode = flags.tls ?? (env.RF_TLS || undefined);
  const cert = flags["tls-cert"] ?? (env.RF_TLS_CERT || undefined);
  const key = flags["tls-key"] ?? (env.RF_TLS_KEY || undefined);
  const next = flags["tls-next-cert"] ?? (env.RF_TLS_NEXT_CERT || undefined);
  const names = flags["tls-name"]?.length ? flags["tls-name"] : list(env.RF_TLS_NAME);
  if (mode !== undefined && mode !== "self-signed") {
    throw new UsageError(
      `--tls takes only "self-signed" (for your own certificate use --tls-cert and --tls-key); got "${mode}"`,
    );
  }
  if (mode && (cert || key)) throw new UsageError("use either --tls self-signed or --tls-cert/--tls-key, not both");
  if (!cert !== !key) throw new UsageError("--tls-cert and --tls-key go together: give both PEM files");
  if (cert && key) return { mode: "files", certFile: cert, keyFile: key, nextCertFile: next };
  if (next)
    throw new UsageError(
      "--tls-next-cert needs --tls-cert and --tls-key (self-signed keeps its next one in the data directory)",
    );
  if (mode === "self-signed") {
    const wildcard = listenHost === "0.0.0.0" || listenHost === "::" || listenHost === "";
    const defaults = [hostname(), "localhost", "127.0.0.1", "::1", ...(wildcard ? [] : [listenHost])];
    const chosen = names.length ? names : defaults;
    for (const n of chosen) {
      if (!isIP(n) && !/^[A-Za-z0-9*]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(n)) {
        throw new UsageError(`--tls-name must be a DNS name or an IP address; got "${n}"`);
      }
    }
    return { mode: "self-signed", dataDir, names: [...new Set(chosen)] };
  }
  if (names.length) throw new UsageError("--tls-name is for --tls self-signed");
  return null;
}

/** Loads the certificate; a bad one is a usage error naming the file. */
export async function loadTlsOrExplain(setting: TlsSetting, now: Date): Promise<ServedTls> {
  try {
    return await loadServedTls(setting, now);
  } catch (err) {
    if (err instanceof CertificateError) throw new UsageError(err.message);
    throw err;
  }
}

/** Names given now that the kept self-signed certificate lacks (it is made once: agents pin it). */
export function missingNames(setting: TlsSetting, served: ServedTls): string[] {
  if (setting.mode !== "self-signed") return [];
  const have = new Set(certificateNames(served.cert).map(sameName));
  return setting.names.filter((n) => !have.has(sameName(n)));
}

/** One spelling per name: X509Certificate lists IPv6 in full (0:0:0:0:0:0:0:1), URL compresses it. */
function sameName(name: string): string {
  return isIP(name) === 6 ? new URL(`http://[${name}]/`).hostname : name.toLowerCase();
}
