import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Encrypts repository secrets at rest: AES-256-GCM, 12-byte random IV, under the server key. */
export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

const PREFIX = "v1:";

export function createSecretBox(key: Uint8Array): SecretBox {
  if (key.byteLength !== 32) throw new Error("the secret key must be 32 bytes");
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
    },
    open(sealed) {
      if (!sealed.startsWith(PREFIX)) throw new Error("unknown secret format");
      const raw = Buffer.from(sealed.slice(PREFIX.length), "base64");
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
    },
  };
}

/**
 * Reads `<dataDir>/secret.key`, creating it (mode 0600) on first start. With `mustExist` (the
 * database is already there) a missing key is refused: a new one could not open the repository
 * passwords sealed under the old one, and every host's backups would then fail.
 */
export function loadOrCreateKey(dataDir: string, opts: { mustExist?: boolean } = {}): Uint8Array {
  const path = join(dataDir, "secret.key");
  if (!existsSync(path) && opts.mustExist) {
    throw new Error(
      `${path} is missing, but the database next to it exists: restore secret.key from your backup of the ` +
        "data directory. Without it the stored repository passwords cannot be read. (To start a new, empty " +
        "fleet instead, use an empty data directory.)",
    );
  }
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(path, randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" });
  }
  chmodSync(path, 0o600);
  const key = Buffer.from(readFileSync(path, "utf8").trim(), "base64");
  if (key.byteLength !== 32) {
    throw new Error(`${path} is not a valid key (expected 32 base64 bytes); restore it from backup`);
  }
  return key;
}
