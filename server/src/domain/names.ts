import { DomainError } from "./errors.ts";

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
export const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * A resource's display name (a repository, a policy, a channel, a rule), trimmed: 1-100
 * characters without control characters, or a 400 naming `field`.
 */
export function checkName(name: string, field = "name"): string {
  const n = name.trim();
  if (n === "" || n.length > 100 || CONTROL.test(n)) {
    throw new DomainError("invalid", `${field}: must be 1-100 characters, without control characters`, field);
  }
  return n;
}
