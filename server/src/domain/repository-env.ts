import { envProblem, isSecretEnv } from "../../../protocol/index.ts";
import { DomainError } from "./errors.ts";
import { CONTROL } from "./names.ts";

/**
 * The repository's variables after a change: each given one set, "" removing it; every name must
 * be one of the URL's backend's (checked against the final URL, so a backend change must clear
 * the old backend's), and each value one line of at most 4096 characters. Split into the plain
 * and the secret ones.
 */
export function mergeEnv(url: string, old: Record<string, string>, given: Record<string, string> | undefined) {
  const all = { ...old };
  for (const [name, value] of Object.entries(given ?? {})) {
    if (CONTROL.test(value)) throw new DomainError("invalid", `env.${name}: must not hold control characters`, "env");
    if (value.length > 4096) throw new DomainError("invalid", `env.${name}: at most 4096 characters`, "env");
    if (value === "") delete all[name];
    else all[name] = value;
  }
  const foreign = Object.keys(all).find((name) => envProblem(url, [name]) !== null);
  if (foreign !== undefined) {
    // A variable kept from before (the URL moved to another backend) is cleared with "".
    const kept = given?.[foreign] === undefined ? `; clear it with "env": {"${foreign}": ""}` : "";
    throw new DomainError("invalid", `${envProblem(url, [foreign])}${kept}`, "env");
  }
  const plain: Record<string, string> = {};
  const secret: Record<string, string> = {};
  for (const [name, value] of Object.entries(all)) (isSecretEnv(name) ? secret : plain)[name] = value;
  return { plain, secret };
}
