import { randomBytes } from "node:crypto";
import type { DomainContext } from "./deps.ts";
import type { RepositoryHostSecretRow, RepositoryRow } from "./store.ts";
import type { Host } from "./types.ts";

/** 32 random bytes (256 bits), base64url: a per-host repository password nobody has to type. */
const generatePassword = () => randomBytes(32).toString("base64url");

/**
 * A templated repository's generated password for one host, made on first use and the same ever
 * after (the first write wins, so two callers at once get the same one). Call inside a
 * transaction: a policy's propagation makes those of all its new hosts in its own.
 */
export function ensureHostPassword(
  deps: Pick<DomainContext, "store" | "secrets" | "clock">,
  r: Pick<RepositoryRow, "id">,
  host: Pick<Host, "id" | "name" | "restic_host">,
): RepositoryHostSecretRow {
  return deps.store.ensureRepositoryHostSecret({
    repository_id: r.id,
    host_id: host.id,
    host_name: host.name,
    restic_host: host.restic_host,
    password_enc: deps.secrets.seal(generatePassword()),
    created_at: deps.clock.now().toISOString(),
  });
}
