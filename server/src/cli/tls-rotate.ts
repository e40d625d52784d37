import { existsSync, readFileSync, renameSync } from "node:fs";
import { fingerprintOf } from "../tls/certificate.ts";
import { selfSignedCertificate } from "../tls/self-signed.ts";
import { certificateNames, selfSignedFiles, writePair } from "../tls/served-tls.ts";
import { UsageError } from "./usage-error.ts";

/**
 * `tls rotate` for `--tls self-signed`, in two steps that pinned agents follow:
 * 1. `tls rotate` makes the next certificate (tls/next-cert.pem); a SIGHUP to the server
 *    announces its fingerprint, and every agent that connects accepts both from then on.
 * 2. `tls rotate --switch` makes it the current one (the old one is kept as previous-*.pem);
 *    a SIGHUP serves it, without dropping a connection.
 */
export async function tlsRotateCommand(dataDir: string, opts: { switch: boolean; names: string[] }): Promise<void> {
  const f = selfSignedFiles(dataDir);
  if (!existsSync(f.cert)) {
    throw new UsageError(`${f.cert} does not exist: 'tls rotate' is for a server started with --tls self-signed`);
  }
  if (opts.switch) {
    if (!existsSync(f.nextCert) || !existsSync(f.nextKey)) {
      throw new UsageError("there is no next certificate to switch to: run 'tls rotate' first");
    }
    renameSync(f.cert, `${f.dir}/previous-cert.pem`);
    renameSync(f.key, `${f.dir}/previous-key.pem`);
    renameSync(f.nextKey, f.key);
    renameSync(f.nextCert, f.cert);
    console.log(`the next certificate is now the current one: ${fingerprintOf(readFileSync(f.cert, "utf8"))}`);
    console.log("send SIGHUP to the server to serve it (systemctl reload restic-fleet-server)");
    return;
  }
  if (existsSync(f.nextCert)) {
    throw new UsageError(
      `a next certificate already waits (${f.nextCert}): announce it with SIGHUP, then 'tls rotate --switch'`,
    );
  }
  const names = opts.names.length ? opts.names : certificateNames(readFileSync(f.cert, "utf8"));
  const pair = await selfSignedCertificate(names, new Date());
  writePair({ dir: f.dir, cert: f.nextCert, key: f.nextKey }, pair);
  console.log(`made the next certificate ${f.nextCert}: ${fingerprintOf(pair.cert)}`);
  console.log(
    "send SIGHUP to the server to announce it; once every pinned agent has connected since, run " +
      "'restic-fleet-server tls rotate --switch' and send SIGHUP again",
  );
}
