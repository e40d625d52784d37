import { randomBytes } from "node:crypto";
import { formatLabels, type Labels, parseLabelPairs } from "../domain/labels.ts";
import { DEFAULT_ROLE } from "../domain/permissions.ts";
import { parseDuration } from "../duration.ts";
import { createLogger } from "../log.ts";
import { openServerState } from "../server.ts";
import { requireDatabase } from "./require-database.ts";
import { UsageError } from "./usage-error.ts";

export const generatePassword = () => randomBytes(18).toString("base64url");

/** The password for user add/passwd: RF_PASSWORD, else stdin's first line, else generated. */
async function readPassword(): Promise<{ password: string; generated: boolean }> {
  const env = process.env.RF_PASSWORD;
  if (env) return { password: env, generated: false };
  if (!process.stdin.isTTY) {
    const text = await Bun.stdin.text();
    const line = text.split(/\r?\n/)[0] ?? "";
    if (line) return { password: line, generated: false };
  }
  return { password: generatePassword(), generated: true };
}

/**
 * The fleet in an existing data directory. These commands never lock it: they write the same
 * SQLite database in WAL mode, which is safe while the server runs (see data-dir-lock.ts).
 */
function state(dataDir: string) {
  requireDatabase(dataDir);
  return openServerState(dataDir, createLogger("warn"));
}

export async function userCommand(args: string[], values: { role?: string | undefined }, dataDir: string) {
  const [sub, name = ""] = args;
  if (sub !== "add" && sub !== "passwd" && sub !== "list") {
    throw new UsageError(`unknown user command "${sub ?? ""}": use add, passwd or list`);
  }
  if (sub !== "list" && !name) throw new UsageError(`user ${sub} needs a NAME`);
  const role = values.role ?? DEFAULT_ROLE;
  if (role !== "admin" && role !== "viewer") throw new UsageError("--role must be admin or viewer");
  const { domain, store } = state(dataDir);
  try {
    switch (sub) {
      case "add": {
        const { password, generated } = await readPassword();
        const user = await domain.auth.createUser(name, password, role, null);
        console.error(`created user ${user.username} with role ${user.role}`);
        if (generated) console.log(password);
        return;
      }
      case "passwd": {
        const { password, generated } = await readPassword();
        await domain.auth.setPassword(name, password, null);
        console.error(`password changed for ${name}; their sessions were ended`);
        if (generated) console.log(password);
        return;
      }
      case "list":
        for (const u of store.listUsers()) console.log(`${u.username}\t${u.role}\t${u.created_at}`);
        return;
    }
  } finally {
    store.close();
  }
}

export function apiTokenCommand(
  args: string[],
  values: { user?: string | undefined; name?: string | undefined },
  dataDir: string,
) {
  if (args[0] !== "create") throw new UsageError(`unknown api-token command "${args[0] ?? ""}": use create`);
  if (!values.user) throw new UsageError("api-token create needs --user NAME");
  const { domain, store } = state(dataDir);
  try {
    const user = store.userByName(values.user);
    if (!user) throw new Error(`user ${values.user} not found: create it with 'restic-fleet-server user add'`);
    const t = domain.auth.createApiToken(
      { user_id: user.id, username: user.username, role: user.role },
      values.name ?? `cli ${new Date().toISOString().slice(0, 10)}`,
    );
    console.log(t.token);
  } finally {
    store.close();
  }
}

export function enrollmentTokenCommand(
  args: string[],
  values: { uses?: string | undefined; expires?: string | undefined; label?: string[] | undefined },
  dataDir: string,
) {
  const [sub, id] = args;
  if (sub !== "create" && sub !== "list" && sub !== "revoke") {
    throw new UsageError(`unknown enrollment-token command "${sub ?? ""}": use create, list or revoke`);
  }
  if (sub === "revoke" && !id) throw new UsageError("enrollment-token revoke needs the token's ID (see 'list')");
  let create: { uses: number; expiresInMs: number; labels: Labels } | null = null;
  if (sub === "create") {
    const uses = Number(values.uses ?? "1");
    const expiresInMs = parseDuration(values.expires ?? "24h");
    if (!Number.isSafeInteger(uses) || uses < 1) throw new UsageError("--uses must be a positive integer");
    if (Number.isNaN(expiresInMs)) throw new UsageError("--expires must be a duration such as 30m, 24h or 7d");
    let labels: Labels;
    try {
      labels = parseLabelPairs(values.label ?? [], "--label");
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    create = { uses, expiresInMs, labels };
  }
  const { domain, store } = state(dataDir);
  try {
    if (create) {
      const t = domain.auth.createEnrollmentToken(null, create);
      const labels = Object.keys(t.labels).length ? `, labels ${formatLabels(t.labels)}` : "";
      console.error(`enrollment token ${t.id}: ${t.uses_left} use(s), expires ${t.expires_at}${labels}`);
      console.log(t.token);
    } else if (sub === "revoke" && id) {
      domain.auth.revokeEnrollmentToken(null, id);
      console.error(`enrollment token ${id} revoked: it enrolls no more hosts`);
    } else {
      console.log(
        ["ID", "LABELS", "USES_LEFT", "EXPIRES_AT", "CREATED_BY", "CREATED_AT", "REVOKED_AT", "USES"].join("\t"),
      );
      let cursor: string | undefined;
      do {
        const page = domain.auth.listEnrollmentTokens(null, { limit: 500, cursor });
        for (const t of page.items) {
          const row = [t.id, formatLabels(t.labels) || "-", t.uses_left, t.expires_at, t.created_by ?? "cli"];
          // USES (how many it could enroll when made) came last, so scripts reading columns by place
          // keep working; "-" for tokens made before it was kept.
          console.log([...row, t.created_at, t.revoked_at ?? "-", t.uses ?? "-"].join("\t"));
        }
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
    }
  } finally {
    store.close();
  }
}
