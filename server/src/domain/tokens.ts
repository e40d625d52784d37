import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Token prefixes tell an operator at a glance what a leaked string is. */
export type TokenKind = "agent" | "api" | "enroll" | "session";
const PREFIX: Record<TokenKind, string> = { agent: "rfa_", api: "rft_", enroll: "rfe_", session: "rfs_" };

/** 32 random bytes (256 bits), base64url. */
export const newToken = (kind: TokenKind) => PREFIX[kind] + randomBytes(32).toString("base64url");

/** Tokens are high-entropy, so a plain sha256 is the right storage hash (no slow KDF needed). */
export const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

export const newId = (prefix: string) => `${prefix}_${randomBytes(10).toString("hex")}`;

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
