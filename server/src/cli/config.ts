import { UsageError } from "./usage-error.ts";

/**
 * `restic-fleet-server config export|diff|apply`: a client of a running server's
 * /api/v1/fleet-config (docs/fleet-config.md), for keeping the fleet's config in git. Unlike the
 * other admin commands it acts over HTTP with an API token, not on a data directory, so it runs
 * from CI or a laptop.
 */
interface Diff {
  dry_run: boolean;
  created: { type: string; name: string }[];
  changed: { type: string; name: string; fields: string[] }[];
  deleted: { type: string; name: string }[];
  warnings: string[];
}

const isJsonFile = (file: string) => /\.json$/i.test(file);
const isYamlFile = (file: string) => /\.ya?ml$/i.test(file);

/** The diff as people read it: + created, ~ changed (with its fields), - deleted. */
export function formatDiff(d: Diff): string {
  const lines = [
    ...d.created.map((o) => `+ ${o.type} ${o.name}`),
    ...d.changed.map((o) => `~ ${o.type} ${o.name}: ${o.fields.join(", ")}`),
    ...d.deleted.map((o) => `- ${o.type} ${o.name}`),
    ...d.warnings.map((w) => `warning: ${w}`),
  ];
  const counts = `${d.created.length} created, ${d.changed.length} changed, ${d.deleted.length} deleted`;
  const empty = d.created.length + d.changed.length + d.deleted.length === 0;
  if (d.dry_run) lines.push(empty ? "no changes" : `dry run: ${counts} if applied; nothing was changed`);
  else lines.push(empty ? "applied: no changes" : `applied: ${counts}`);
  return `${lines.join("\n")}\n`;
}

/** What went wrong, in words that say what to do; never the token. */
async function failure(res: Response, server: string): Promise<Error> {
  let code = "";
  let message = (await res.text()).slice(0, 500);
  let path: string | undefined;
  try {
    const body = JSON.parse(message) as { error?: { code?: string; message?: string; path?: string } };
    code = body.error?.code ?? "";
    message = body.error?.message ?? message;
    path = body.error?.path;
  } catch {
    // Not our error shape (a proxy's page): its first 500 characters as they are.
  }
  if (res.status === 401) {
    return new Error(`${server} refused the token (401: ${message}): check RF_TOKEN (an API token of an admin)`);
  }
  if (res.status === 403) return new Error(`${server} refused (403): ${message}`);
  if (res.status === 400) {
    const at = path && !message.startsWith(path) ? ` (at ${path})` : "";
    return new Error(`the server refused the document: ${message}${at}; nothing was changed`);
  }
  return new Error(`${server} answered ${res.status}${code ? ` ${code}` : ""}: ${message}`);
}

export async function configCommand(
  args: string[],
  values: { server?: string | undefined; token?: string | undefined },
): Promise<void> {
  const [sub, file] = args;
  if (sub !== "export" && sub !== "diff" && sub !== "apply") {
    throw new UsageError(
      `unknown config command "${sub ?? ""}": use export, diff or apply`,
      "restic-fleet-server config --help",
    );
  }
  if (sub !== "export" && !file) {
    throw new UsageError(`config ${sub} needs a FILE (the document)`, "restic-fleet-server config --help");
  }
  const server = (values.server ?? process.env.RF_SERVER ?? "").replace(/\/+$/, "");
  if (!server) throw new UsageError("config needs --server URL (or RF_SERVER)", "restic-fleet-server config --help");
  if (!/^https?:\/\//i.test(server)) {
    throw new UsageError(
      `--server must be an http:// or https:// URL, not "${server}"`,
      "restic-fleet-server config --help",
    );
  }
  const token = values.token ?? process.env.RF_TOKEN ?? "";
  if (!token) {
    throw new UsageError("config needs an API token: set RF_TOKEN (or --token T)", "restic-fleet-server config --help");
  }
  const url = `${server}/api/v1/fleet-config`;

  async function call(init: RequestInit & { query?: string }): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${url}${init.query ?? ""}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${token}` },
      });
    } catch (err) {
      throw new Error(
        `cannot reach the server at ${server}: ${err instanceof Error ? err.message : String(err)} (is it running, and is --server right?)`,
      );
    }
    if (!res.ok) throw await failure(res, server);
    return res;
  }

  if (sub === "export") {
    const yaml = !file || !isJsonFile(file);
    const res = await call({ headers: { Accept: yaml ? "application/yaml" : "application/json" } });
    const text = yaml ? await res.text() : `${JSON.stringify(await res.json(), null, 2)}\n`;
    if (file) {
      await Bun.write(file, text);
      console.error(`wrote ${file}`);
    } else process.stdout.write(text);
    return;
  }

  const path = file as string;
  const source = Bun.file(path);
  if (!(await source.exists())) throw new Error(`no file ${path}`);
  const body = await source.text();
  const json = isJsonFile(path) || (!isYamlFile(path) && body.trimStart().startsWith("{"));
  const res = await call({
    method: "PUT",
    query: sub === "diff" ? "?dry_run=1" : "",
    headers: { "Content-Type": json ? "application/json" : "application/yaml" },
    body,
  });
  process.stdout.write(formatDiff((await res.json()) as Diff));
}
