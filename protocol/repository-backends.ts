/**
 * restic's backends, once: the fields each needs, how they make the repository URL and back, and
 * the environment variables its credentials travel in (restic's doc/075_scripting.rst, "Environment
 * Variables"). The web UI's repository form, the server's check of a repository's URL and `env`
 * keys, and the agent's environment for restic all read this table. Plain TypeScript, no imports,
 * so the browser bundle can take it too.
 */

export type BackendId = "local" | "sftp" | "rest" | "s3" | "b2" | "azure" | "gs" | "rclone";

/** A field of a backend's form: part of the URL, or one restic environment variable. */
export interface BackendField {
  key: string;
  label: string;
  /** The environment variable it is sent as; absent for a part of the URL. */
  env?: string;
  /** Write-only: stored sealed, never shown back, redacted from every log. */
  secret?: boolean;
  required?: boolean;
  placeholder?: string;
  hint?: string;
}

export interface Backend {
  id: BackendId;
  label: string;
  fields: readonly BackendField[];
  /** The URL from the URL fields (blank ones left out where restic allows). */
  build(parts: Record<string, string>): string;
  /** The URL fields back from a URL of this backend, or null when the URL is not one. */
  parse(url: string): Record<string, string> | null;
}

const v = (parts: Record<string, string>, key: string) => (parts[key] ?? "").trim();
const withSlash = (p: string) => (p === "" || p.startsWith("/") ? p : `/${p}`);
const env = (key: string, label: string, name: string, more: Partial<BackendField> = {}): BackendField => ({
  key,
  label,
  env: name,
  ...more,
});

const local: Backend = {
  id: "local",
  label: "Local folder",
  fields: [{ key: "path", label: "Path on the host", required: true, placeholder: "/srv/restic/{host}" }],
  build: (p) => v(p, "path"),
  parse: (url) => ({ path: url.startsWith("local:") ? url.slice("local:".length) : url }),
};

// sftp:user@host:/path, or with a port sftp://user@host:2222//abs/path (restic's own two forms).
const sftp: Backend = {
  id: "sftp",
  label: "SFTP",
  fields: [
    { key: "user", label: "User", placeholder: "backup" },
    { key: "host", label: "Host", required: true, placeholder: "nas.example.com" },
    { key: "port", label: "Port", placeholder: "22", hint: "Empty for 22. Keys and known_hosts are the host's own." },
    { key: "path", label: "Path", required: true, placeholder: "/srv/restic/{host}" },
  ],
  build(p) {
    const user = v(p, "user");
    const at = user ? `${user}@` : "";
    const port = v(p, "port");
    const path = v(p, "path");
    if (port && port !== "22") return `sftp://${at}${v(p, "host")}:${port}/${path}`;
    return `sftp:${at}${v(p, "host")}:${path}`;
  },
  parse(url) {
    const long = /^sftp:\/\/(?:([^@/]*)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/(.*)$/.exec(url);
    if (long) return { user: long[1] ?? "", host: long[2] ?? "", port: long[3] ?? "", path: long[4] ?? "" };
    const short = /^sftp:(?:([^@/]*)@)?(\[[^\]]+\]|[^:/]+):(.*)$/.exec(url);
    if (!short) return null;
    return { user: short[1] ?? "", host: short[2] ?? "", port: "", path: short[3] ?? "" };
  },
};

const rest: Backend = {
  id: "rest",
  label: "REST server",
  fields: [
    { key: "url", label: "Server URL", required: true, placeholder: "https://backup.example.com:8000/{host}" },
    env("username", "User", "RESTIC_REST_USERNAME"),
    env("password", "Password", "RESTIC_REST_PASSWORD", { secret: true }),
  ],
  build: (p) => `rest:${v(p, "url")}`,
  parse: (url) => ({ url: url.slice("rest:".length) }),
};

// s3:https://endpoint/bucket/prefix; an endpoint without a scheme is taken as https.
const s3: Backend = {
  id: "s3",
  label: "S3-compatible",
  fields: [
    { key: "endpoint", label: "Endpoint", required: true, placeholder: "https://s3.eu-central-1.amazonaws.com" },
    { key: "bucket", label: "Bucket", required: true, placeholder: "backups" },
    { key: "prefix", label: "Prefix", placeholder: "{host}" },
    env("region", "Region", "AWS_DEFAULT_REGION", { placeholder: "eu-central-1" }),
    env("access_key_id", "Access key id", "AWS_ACCESS_KEY_ID", { required: true }),
    env("secret_access_key", "Secret access key", "AWS_SECRET_ACCESS_KEY", { secret: true, required: true }),
  ],
  build(p) {
    const endpoint = v(p, "endpoint").replace(/\/+$/, "");
    const base = /^https?:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
    const prefix = v(p, "prefix").replace(/^\/+/, "");
    return `s3:${base}/${v(p, "bucket")}${prefix ? `/${prefix}` : ""}`;
  },
  parse(url) {
    const m = /^s3:((?:https?:\/\/)?[^/]+)\/([^/]*)(?:\/(.*))?$/i.exec(url);
    if (!m) return null;
    return { endpoint: m[1] ?? "", bucket: m[2] ?? "", prefix: m[3] ?? "" };
  },
};

const b2: Backend = {
  id: "b2",
  label: "Backblaze B2",
  fields: [
    { key: "bucket", label: "Bucket", required: true, placeholder: "backups" },
    { key: "path", label: "Path", placeholder: "{host}" },
    env("account_id", "Account id (key id)", "B2_ACCOUNT_ID", { required: true }),
    env("account_key", "Account key", "B2_ACCOUNT_KEY", { secret: true, required: true }),
  ],
  build: (p) => `b2:${v(p, "bucket")}:${v(p, "path")}`,
  parse(url) {
    const m = /^b2:([^:]*)(?::(.*))?$/.exec(url);
    return m ? { bucket: m[1] ?? "", path: m[2] ?? "" } : null;
  },
};

const azure: Backend = {
  id: "azure",
  label: "Azure Blob Storage",
  fields: [
    { key: "container", label: "Container", required: true, placeholder: "backups" },
    { key: "path", label: "Path", placeholder: "/{host}" },
    env("account_name", "Account name", "AZURE_ACCOUNT_NAME", { required: true }),
    env("account_key", "Account key", "AZURE_ACCOUNT_KEY", { secret: true, hint: "Or a SAS token below." }),
    env("account_sas", "SAS token", "AZURE_ACCOUNT_SAS", { secret: true }),
  ],
  build: (p) => `azure:${v(p, "container")}:${withSlash(v(p, "path"))}`,
  parse(url) {
    const m = /^azure:([^:]*)(?::(.*))?$/.exec(url);
    return m ? { container: m[1] ?? "", path: m[2] ?? "" } : null;
  },
};

const gs: Backend = {
  id: "gs",
  label: "Google Cloud Storage",
  fields: [
    env("project_id", "Project id", "GOOGLE_PROJECT_ID", { placeholder: "my-project-123" }),
    { key: "bucket", label: "Bucket", required: true, placeholder: "backups" },
    { key: "path", label: "Path", placeholder: "/{host}" },
    env("credentials_file", "Credentials file on the host", "GOOGLE_APPLICATION_CREDENTIALS", {
      placeholder: "/etc/restic/gcs-key.json",
      hint: "A path on each host, not the key itself.",
    }),
  ],
  build: (p) => `gs:${v(p, "bucket")}:${withSlash(v(p, "path"))}`,
  parse(url) {
    const m = /^gs:([^:]*)(?::(.*))?$/.exec(url);
    return m ? { bucket: m[1] ?? "", path: m[2] ?? "" } : null;
  },
};

const rclone: Backend = {
  id: "rclone",
  label: "rclone",
  fields: [
    {
      key: "remote",
      label: "Remote and path",
      required: true,
      placeholder: "onedrive:restic/{host}",
      hint: "A remote of the host's own rclone.conf.",
    },
  ],
  build: (p) => `rclone:${v(p, "remote")}`,
  parse: (url) => ({ remote: url.slice("rclone:".length) }),
};

export const BACKENDS: readonly Backend[] = [local, sftp, rest, s3, b2, azure, gs, rclone];

/** The backend a URL is for, by its scheme; anything without a known scheme is a local path. */
export function backendOf(url: string): Backend {
  const scheme = /^([a-z0-9]+):/i.exec(url.trim())?.[1]?.toLowerCase();
  // A Windows path (C:\backup, D:/restic) has a one-letter "scheme".
  if (!scheme || scheme.length === 1) return local;
  return BACKENDS.find((b) => b.id === scheme) ?? local;
}

/** A URL of another restic backend (swift:, s3 without fields we know...) is still a legal URL. */
const OTHER_SCHEMES = ["swift", "smb"];

/** The fields of a URL for the form, or null when the form cannot show it (then the URL is edited as text). */
export function parseRepositoryUrl(url: string): { backend: BackendId; parts: Record<string, string> } | null {
  const u = url.trim();
  const scheme = /^([a-z0-9]+):/i.exec(u)?.[1]?.toLowerCase();
  if (scheme && scheme.length > 1 && OTHER_SCHEMES.includes(scheme)) return null;
  const b = backendOf(u);
  const parts = b.parse(u);
  return parts ? { backend: b.id, parts } : null;
}

/** Every environment variable a repository may carry, and whether it is a secret. */
export const REPOSITORY_ENV: ReadonlyMap<string, { secret: boolean; backend: BackendId }> = new Map(
  BACKENDS.flatMap((b) =>
    b.fields.flatMap((f) => (f.env ? [[f.env, { secret: f.secret === true, backend: b.id }] as const] : [])),
  ),
);

export const isSecretEnv = (name: string) => REPOSITORY_ENV.get(name)?.secret === true;

/**
 * Why these variables cannot go with this URL, or null when they can: each must be one of the
 * URL's backend's (an AWS key on a B2 repository is a mistake, and an arbitrary name such as
 * LD_PRELOAD must never reach a host's restic).
 */
export function envProblem(url: string, names: readonly string[]): string | null {
  const b = backendOf(url);
  const allowed = b.fields.flatMap((f) => (f.env ? [f.env] : []));
  for (const name of names) {
    if (!allowed.includes(name)) {
      return allowed.length === 0
        ? `env.${name}: a ${b.label} repository takes no environment variables`
        : `env.${name}: not a variable of a ${b.label} repository (${allowed.join(", ")})`;
    }
  }
  return null;
}

/**
 * The variables the older `username` / `credential` pair stands for, per scheme (before protocol
 * 8 the only way to send them). For rest: the agent puts them into the URL, which works in every
 * restic version (RESTIC_REST_USERNAME exists only since 0.16).
 */
export const CREDENTIAL_PAIRS: Readonly<Record<string, readonly [string, string]>> = {
  s3: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
  b2: ["B2_ACCOUNT_ID", "B2_ACCOUNT_KEY"],
  azure: ["AZURE_ACCOUNT_NAME", "AZURE_ACCOUNT_KEY"],
  swift: ["OS_USERNAME", "OS_PASSWORD"],
  rest: ["RESTIC_REST_USERNAME", "RESTIC_REST_PASSWORD"],
};
