import { DomainError } from "./errors.ts";

/** A host's labels (DESIGN §8.2): key → value, e.g. `{"env": "prod", "role": "db"}`. */
export type Labels = Record<string, string>;

const KEY = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const VALUE = /^[A-Za-z0-9_.-]{0,63}$/;
/**
 * 64 labels: far beyond what a selector needs (env, role, site, team…), and a bound on what one
 * host row and every host view carry (64 × (63 + 63) bytes ≈ 8 KiB at most).
 */
export const MAX_LABELS = 64;

/**
 * Checks a label map, whatever door it came in by (the API, the CLI, an enrollment token):
 * keys and values as DESIGN §8.2 says, at most MAX_LABELS. The error names `<field>.<key>`.
 * Returns a copy with its keys sorted, so what is stored, shown and audited reads the same.
 */
export function checkLabels(labels: Readonly<Record<string, unknown>>, field = "labels"): Labels {
  const keys = Object.keys(labels);
  if (keys.length > MAX_LABELS) {
    throw new DomainError("invalid", `${field}: at most ${MAX_LABELS} labels, not ${keys.length}`, field);
  }
  const out: Labels = {};
  for (const key of keys.sort()) {
    const path = `${field}.${key}`;
    if (!KEY.test(key)) {
      throw new DomainError(
        "invalid",
        `${path}: a label key is 1-63 lower-case letters, digits, '_', '.' or '-', starting with a letter or digit`,
        path,
      );
    }
    const value = labels[key];
    if (typeof value !== "string" || !VALUE.test(value)) {
      throw new DomainError(
        "invalid",
        `${path}: a label value is a string of 0-63 letters, digits, '_', '.' or '-'`,
        path,
      );
    }
    out[key] = value;
  }
  return out;
}

/** Label keys alone (`?without_label=site`): each as a label key must be, named `<field>`. */
export function checkLabelKeys(keys: readonly string[], field: string): string[] {
  for (const key of keys) {
    if (!KEY.test(key)) {
      throw new DomainError(
        "invalid",
        `${field}: "${key}" is not a label key (1-63 lower-case letters, digits, '_', '.' or '-')`,
        field,
      );
    }
  }
  return [...new Set(keys)].sort();
}

/**
 * `key=value` pairs (the CLI's `--label env=prod`, the API's `?label=env=prod`) → a checked map.
 * A pair without `=`, or a key given twice with different values, is refused naming `field`.
 */
export function parseLabelPairs(pairs: readonly string[], field: string): Labels {
  const map: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq < 0) throw new DomainError("invalid", `${field}: "${pair}" is not key=value`, field);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (key in map && map[key] !== value) {
      throw new DomainError("invalid", `${field}: ${key} is given twice, with different values`, field);
    }
    map[key] = value;
  }
  try {
    return checkLabels(map, field);
  } catch (err) {
    // The pairs came in one field: name it, as the caller knows it.
    if (err instanceof DomainError) throw new DomainError("invalid", err.message, field);
    throw err;
  }
}

/** `env=prod, role=db`, for messages and the CLI's list. */
export const formatLabels = (labels: Labels) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
