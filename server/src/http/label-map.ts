import * as v from "valibot";

/**
 * A `labels` field of an HTTP body: an object of strings. Keys and values are checked by the
 * domain (domain/labels.ts), so every door (API, CLI, enrollment) refuses the same labels, naming
 * `labels.<key>`.
 */
export const LabelMap = v.pipe(
  v.unknown(),
  // valibot's record takes an array as an object with keys "0", "1", …: refuse it as a whole.
  v.check((x) => typeof x === "object" && x !== null && !Array.isArray(x), 'must be an object such as {"env": "prod"}'),
  v.record(v.string(), v.string()),
);
