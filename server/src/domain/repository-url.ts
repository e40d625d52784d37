import { DomainError } from "./errors.ts";
import { CONTROL } from "./names.ts";

/** In a repository URL, the host's restic host name (DESIGN §8.3): the URL is then a template. */
export const HOST_TOKEN = "{host}";

export const isTemplate = (url: string) => url.includes(HOST_TOKEN);

/**
 * A repository URL as given, checked: not empty, no control characters, and braces only in
 * `{host}` itself, so a misspelt `{hostname}` or `{HOST}` is refused instead of becoming part of
 * every host's path. Returns it trimmed.
 */
export function checkRepositoryUrl(url: string): string {
  const u = url.trim();
  if (u === "") throw new DomainError("invalid", "url: must not be empty", "url");
  if (CONTROL.test(u)) throw new DomainError("invalid", "url: must not hold control characters", "url");
  if (/[{}]/.test(u.split(HOST_TOKEN).join(""))) {
    throw new DomainError("invalid", `url: '{' and '}' are allowed only as ${HOST_TOKEN}, the host's name`, "url");
  }
  return u;
}

/**
 * A name that can stand for `{host}`: one path segment or DNS label run, nothing that climbs out of
 * it. The agent reports its restic host name, so it is checked here, not trusted: a name such as
 * `../db-01` must never point a host at another host's repository.
 */
const SAFE_HOST = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** The URL for one host: every `{host}` replaced by its restic host name, checked first. */
export function expandForHost(url: string, host: { id: string; restic_host: string }): string {
  if (!isTemplate(url)) return url;
  if (!SAFE_HOST.test(host.restic_host)) {
    throw new DomainError(
      "conflict",
      `host ${host.id}'s restic host name ${JSON.stringify(host.restic_host)} cannot stand for ${HOST_TOKEN} in a ` +
        "repository URL: it must be 1-253 letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  }
  return url.split(HOST_TOKEN).join(host.restic_host);
}
