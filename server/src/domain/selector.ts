import { checkLabels, type Labels } from "./labels.ts";

/**
 * Which hosts something applies to (DESIGN §8.2): every listed label must match, and `{}` or
 * `{"labels": {}}` matches every host. An object, so more fields (such as `os`) can come later;
 * the host list's `?label=` filter and policies both match through `matches`.
 */
export interface Selector {
  labels?: Labels | undefined;
}

/** Whether a host with these labels is selected. */
export function matches(selector: Selector, labels: Readonly<Labels>): boolean {
  const wanted = selector.labels;
  if (!wanted) return true;
  for (const key in wanted) {
    if (!Object.hasOwn(labels, key) || labels[key] !== wanted[key]) return false;
  }
  return true;
}

/** A selector as given (API, CLI), checked; the error names `<field>.labels.<key>`. */
export function checkSelector(selector: Selector, field = "selector"): Selector {
  return selector.labels === undefined ? {} : { labels: checkLabels(selector.labels, `${field}.labels`) };
}
