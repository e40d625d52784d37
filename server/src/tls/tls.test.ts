import { afterEach, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingNames, tlsSettingFrom } from "../cli/tls-options.ts";
import { CertificateError, checkCertificatePair, fingerprintOf } from "./certificate.ts";
import { selfSignedCertificate } from "./self-signed.ts";
import { loadServedTls, selfSignedFiles } from "./served-tls.ts";

let dir = "";
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));
const now = new Date("2026-12-01T12:00:00Z");

test("the self-signed certificate: P-256, not a CA, its names in the subjectAltName, valid from a minute ago", async () => {
  const pair = await selfSignedCertificate(["fleet.example", "127.0.0.1", "::1"], now);
  const x = new X509Certificate(pair.cert);
  expect(x.subject).toBe("CN=fleet.example");
  expect(x.subjectAltName).toBe("DNS:fleet.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
  expect(x.ca).toBe(false);
  expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
  expect(x.verify(x.publicKey)).toBe(true);
  expect(new Date(x.validFrom).getTime()).toBe(now.getTime() - 60_000);
  expect(fingerprintOf(pair.cert)).toBe(`sha256:${x.fingerprint256.replaceAll(":", "").toLowerCase()}`);
  expect(() => checkCertificatePair(pair, { cert: "c", key: "k" }, now)).not.toThrow();
});

test("a pair that does not belong together, an expired certificate, or a file that is not PEM is refused by name", async () => {
  const one = await selfSignedCertificate(["a"], now);
  const two = await selfSignedCertificate(["a"], now);
  const files = { cert: "/etc/c.pem", key: "/etc/k.pem" };
  expect(() => checkCertificatePair({ cert: one.cert, key: two.key }, files, now)).toThrow(
    "/etc/k.pem is not the private key of the certificate in /etc/c.pem",
  );
  expect(() => checkCertificatePair(one, files, new Date("2031-01-01T00:00:00Z"))).toThrow("expired");
  expect(() => checkCertificatePair({ cert: "nope", key: one.key }, files, now)).toThrow(CertificateError);
});

test("--tls self-signed makes its certificate once (key 0600) and keeps it across starts", async () => {
  dir = mkdtempSync(join(tmpdir(), "rf-tls-"));
  const setting = { mode: "self-signed" as const, dataDir: dir, names: ["localhost"] };
  const first = await loadServedTls(setting, now);
  const again = await loadServedTls(setting, now);
  expect(again.fingerprint).toBe(first.fingerprint);
  expect(statSync(selfSignedFiles(dir).key).mode & 0o777).toBe(0o600);
  expect(first.next).toBeNull();
  const next = await selfSignedCertificate(["localhost"], now);
  writeFileSync(selfSignedFiles(dir).nextCert, next.cert);
  expect((await loadServedTls(setting, now)).next).toBe(fingerprintOf(next.cert));
});

test("serve's TLS flags: one mode at a time, both files together, names only for self-signed", () => {
  const from = (flags: Record<string, unknown>, env: Record<string, string> = {}) =>
    tlsSettingFrom(flags, env, "/data", "0.0.0.0");
  expect(from({})).toBeNull();
  expect(from({ "tls-cert": "c", "tls-key": "k" })).toEqual({
    mode: "files",
    certFile: "c",
    keyFile: "k",
    nextCertFile: undefined,
  });
  expect(from({}, { RF_TLS: "self-signed", RF_TLS_NAME: "fleet.example, 10.0.0.1" })).toEqual({
    mode: "self-signed",
    dataDir: "/data",
    names: ["fleet.example", "10.0.0.1"],
  });
  expect(() => from({ tls: "on" })).toThrow('--tls takes only "self-signed"');
  expect(() => from({ "tls-cert": "c" })).toThrow("--tls-cert and --tls-key go together");
  expect(() => from({ tls: "self-signed", "tls-cert": "c", "tls-key": "k" })).toThrow("not both");
  expect(() => from({ "tls-name": ["x"] })).toThrow("--tls-name is for --tls self-signed");
  expect(() => from({ tls: "self-signed", "tls-name": ["bad name"] })).toThrow("--tls-name must be");
});

test("a kept self-signed certificate is compared with --tls-name in one spelling per name", async () => {
  dir = mkdtempSync(join(tmpdir(), "rf-tls-"));
  const served = await loadServedTls({ mode: "self-signed", dataDir: dir, names: ["localhost", "::1"] }, now);
  const asked = {
    mode: "self-signed" as const,
    dataDir: dir,
    names: ["0:0:0:0:0:0:0:1", "LOCALHOST", "fleet.example"],
  };
  expect(missingNames(asked, served)).toEqual(["fleet.example"]);
});
