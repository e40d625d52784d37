import { h } from "./dom.ts";

export type Labels = Record<string, string>;

/** Labels as small tags, `key=value` each; nothing for a host without labels. */
export function labelTags(labels: Labels) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return null;
  return h(
    "ul",
    { class: "labels", "aria-label": "Labels" },
    entries.map(([k, v]) => h("li", { class: "label-tag" }, `${k}=${v}`)),
  );
}

/** `env=prod, role=db` as typed (comma- or space-separated), for an input's value. */
export const labelText = (labels: Labels) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");

/**
 * What was typed, decoded into a map; the server checks keys and values (and names a bad one).
 * A word without `=` is refused here: it cannot be sent as a map.
 */
export function parseLabelText(text: string): { ok: true; labels: Labels } | { ok: false; message: string } {
  const labels: Labels = {};
  for (const pair of text.split(/[\s,]+/).filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) return { ok: false, message: `"${pair}" is not key=value, e.g. env=prod` };
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { ok: true, labels };
}

/** A filter for the host list (`?label=env=prod&label=role=db`) from what was typed. */
export const labelQuery = (text: string) =>
  text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((pair) => `label=${encodeURIComponent(pair)}`)
    .join("&");
