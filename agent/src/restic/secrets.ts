import { randomBytes } from "node:crypto";
import { readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { backendOf, CREDENTIAL_PAIRS, isSecretEnv } from "../../../protocol/index.ts";
import { urlPasswordForms } from "../log.ts";
import type { RepoConfig } from "./types.ts";

/**
 * Everything that touches the repository secrets: the child's environment, the password file and
 * the redactor. The password never goes on a command line (ps shows those) nor in a log line.
 */

/** true when the config can open a repository at all. */
export function usableRepo(repo: RepoConfig | null): repo is RepoConfig {
  return !!repo && repo.repo_url.trim().length > 0 && repo.repo_password.length > 0;
}

/**
 * The environment every child (restic and hooks) starts from: the agent's own, minus restic's
 * settings (a stray RESTIC_PASSWORD or RESTIC_REPOSITORY on the host must not pick the repository)
 * and minus the agent's RF_* settings, which hold its tokens.
 */
export function baseEnv(parent: Record<string, string | undefined> = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(parent)) {
    if (value === undefined) continue;
    const upper = key.toUpperCase();
    if (upper.startsWith("RESTIC_") || upper.startsWith("RF_")) continue;
    env[key] = value;
  }
  return env;
}

/**
 * restic's environment for one repository. repo_env (protocol 8) holds the backend's variables by
 * name; only names of the URL's backend are taken (protocol/repository-backends.ts), so a server
 * cannot set LD_PRELOAD or PATH. The older repo_username/repo_credential pair maps to the
 * backend's two key variables (CREDENTIAL_PAIRS); repo_env wins where both are set. For the REST
 * server the user and password go into the URL, which works in every restic version
 * (RESTIC_REST_USERNAME only exists since 0.16) and stays out of argv.
 */
export function resticEnv(
  repo: RepoConfig,
  passwordFile: string,
  opts: { cacheDir?: string; parent?: Record<string, string | undefined> } = {},
): Record<string, string> {
  const env = baseEnv(opts.parent);
  env.RESTIC_REPOSITORY = repo.repo_url;
  env.RESTIC_PASSWORD_FILE = passwordFile;
  if (opts.cacheDir) env.RESTIC_CACHE_DIR = opts.cacheDir;
  const vars = backendVars(repo);
  const scheme = /^([a-z0-9]+):/i.exec(repo.repo_url)?.[1]?.toLowerCase();
  if (scheme === "rest") {
    const user = vars.RESTIC_REST_USERNAME ?? "";
    const secret = vars.RESTIC_REST_PASSWORD ?? "";
    delete vars.RESTIC_REST_USERNAME;
    delete vars.RESTIC_REST_PASSWORD;
    if (user || secret) env.RESTIC_REPOSITORY = withUrlCredentials(repo.repo_url, user, secret);
  }
  return Object.assign(env, vars);
}

/**
 * restic's environment for `restic copy` and the target's other steps: the TARGET is the repository
 * (RESTIC_REPOSITORY, RESTIC_PASSWORD_FILE) and the host's own repository the source
 * (RESTIC_FROM_REPOSITORY, RESTIC_FROM_PASSWORD_FILE; both read by restic 0.14 and 0.18). restic
 * reads one environment for both backends, so a variable both need with different values (two S3
 * buckets under different keys) cannot be served: that is an error naming the variable, not its
 * value.
 */
export function copyEnv(
  target: RepoConfig,
  targetPasswordFile: string,
  source: RepoConfig,
  sourcePasswordFile: string,
  opts: { cacheDir?: string; parent?: Record<string, string | undefined> } = {},
): { ok: true; env: Record<string, string> } | { ok: false; error: string } {
  const env = resticEnv(target, targetPasswordFile, opts);
  const from = resticEnv(source, sourcePasswordFile, opts);
  env.RESTIC_FROM_REPOSITORY = from.RESTIC_REPOSITORY as string;
  env.RESTIC_FROM_PASSWORD_FILE = sourcePasswordFile;
  for (const [name, value] of Object.entries(from)) {
    if (name.startsWith("RESTIC_")) continue;
    if (name in env && env[name] !== value) {
      return {
        ok: false,
        error:
          `the copy target and the host's repository both need ${name}, with different values: restic copy ` +
          "reads one environment for both repositories, so use one set of credentials for both (or another backend)",
      };
    }
    env[name] = value;
  }
  return { ok: true, env };
}

/** The backend's variables from the config: the old pair first, repo_env over it, foreign names dropped. */
function backendVars(repo: RepoConfig): Record<string, string> {
  const out: Record<string, string> = {};
  const scheme = /^([a-z0-9]+):/i.exec(repo.repo_url)?.[1]?.toLowerCase();
  const pair = scheme ? CREDENTIAL_PAIRS[scheme] : undefined;
  if (pair) {
    if (repo.repo_username) out[pair[0]] = repo.repo_username;
    if (repo.repo_credential) out[pair[1]] = repo.repo_credential;
  }
  const allowed = new Set(backendOf(repo.repo_url).fields.flatMap((f) => (f.env ? [f.env] : [])));
  for (const [name, value] of Object.entries(repo.repo_env ?? {})) {
    if (allowed.has(name) && value !== "") out[name] = value;
  }
  return out;
}

/** The values of the config's secret variables (keys, SAS tokens, REST passwords), to redact. */
export function secretEnvValues(env: Record<string, string> | undefined): string[] {
  return Object.entries(env ?? {}).flatMap(([name, value]) => (isSecretEnv(name) && value ? [value] : []));
}

function withUrlCredentials(url: string, user: string, secret: string): string {
  const m = /^rest:(https?:\/\/)([^@/]*@)?(.*)$/i.exec(url);
  if (!m) return url;
  const auth = `${encodeURIComponent(user)}${secret ? `:${encodeURIComponent(secret)}` : ""}@`;
  return `rest:${m[1]}${auth}${m[3]}`;
}

const PASSWORD_FILE_PREFIX = "rf-restic-pw-";

/** Writes the password to a fresh 0600 file in tempDir; the caller removes it with removeSecretFile. */
export async function writePasswordFile(tempDir: string, password: string): Promise<string> {
  const file = join(tempDir, `${PASSWORD_FILE_PREFIX}${randomBytes(12).toString("hex")}`);
  // "wx": never follow or reuse a file someone planted at that name.
  await writeFile(file, password, { mode: 0o600, flag: "wx" });
  return file;
}

export async function removeSecretFile(file: string | null): Promise<void> {
  if (file) await rm(file, { force: true }).catch(() => {});
}

/**
 * Removes the password files a previous run left in tempDir (a crash, a kill -9, a power cut:
 * only a clean end of a job removes its own). Call at start, before any job runs. Returns how many.
 */
export async function removeLeftoverPasswordFiles(tempDir: string): Promise<number> {
  const names = await readdir(tempDir).catch(() => [] as string[]);
  const left = names.filter((n) => n.startsWith(PASSWORD_FILE_PREFIX));
  await Promise.all(left.map((n) => removeSecretFile(join(tempDir, n))));
  return left.length;
}

/** Replaces every secret of the config in a text with "***". */
export type Redact = (text: string) => string;

/**
 * Replaces the repository's secrets (password, credential, a password inside the URL) and every
 * token the agent holds (`extra`: its agent token) with "***".
 */
export function redactorFor(repo: RepoConfig | null, extra: readonly string[] = []): Redact {
  const secrets = new Set<string>();
  const all = [
    repo?.repo_password,
    repo?.repo_credential,
    ...secretEnvValues(repo?.repo_env),
    ...urlPasswordForms(repo?.repo_url),
    ...(repo?.copy_targets ?? []).flatMap((t) => [
      t.repo_password,
      ...secretEnvValues(t.repo_env),
      ...urlPasswordForms(t.repo_url),
    ]),
    ...extra,
  ];
  for (const s of all) {
    if (!s) continue;
    secrets.add(s);
    secrets.add(encodeURIComponent(s));
    const trimmed = s.trim();
    if (trimmed) secrets.add(trimmed);
  }
  // Longest first, so a secret that contains another is replaced whole.
  const list = [...secrets].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const s of list) out = out.split(s).join("***");
    return out;
  };
}
