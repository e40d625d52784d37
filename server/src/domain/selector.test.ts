import { expect, test } from "bun:test";
import { DomainError } from "./errors.ts";
import { checkLabels, MAX_LABELS, parseLabelPairs } from "./labels.ts";
import { checkSelector, matches } from "./selector.ts";

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return { code: err.code, path: err.path };
    throw err;
  }
  return null;
};

test("a selector matches when every listed label matches; {} and {labels: {}} match every host", () => {
  const host = { env: "prod", role: "db", site: "" };
  expect(matches({}, host)).toBe(true);
  expect(matches({ labels: {} }, host)).toBe(true);
  expect(matches({}, {})).toBe(true);
  expect(matches({ labels: { env: "prod" } }, host)).toBe(true);
  expect(matches({ labels: { env: "prod", role: "db" } }, host)).toBe(true);
  expect(matches({ labels: { env: "prod", role: "web" } }, host)).toBe(false);
  expect(matches({ labels: { env: "staging" } }, host)).toBe(false);
  expect(matches({ labels: { team: "ops" } }, host)).toBe(false);
  // An empty value is a value: it matches only a label set to "".
  expect(matches({ labels: { site: "" } }, host)).toBe(true);
  expect(matches({ labels: { rack: "" } }, host)).toBe(false);
  // Inherited names are not labels.
  expect(matches({ labels: { constructor: "x" } }, {})).toBe(false);
  expect(matches({ labels: { toString: "x" } }, {})).toBe(false);
});

test("label keys and values follow DESIGN §8.2; the error names labels.<key>", () => {
  expect(checkLabels({ "a.b_c-d": "Prod.1_x-y", z9: "" })).toEqual({ "a.b_c-d": "Prod.1_x-y", z9: "" });
  expect(refusal(() => checkLabels({ Env: "prod" }))).toEqual({ code: "invalid", path: "labels.Env" });
  expect(refusal(() => checkLabels({ "-env": "prod" }))).toEqual({ code: "invalid", path: "labels.-env" });
  expect(refusal(() => checkLabels({ "": "prod" }))).toEqual({ code: "invalid", path: "labels." });
  expect(refusal(() => checkLabels({ ["k".repeat(64)]: "v" }))?.path).toBe(`labels.${"k".repeat(64)}`);
  expect(checkLabels({ ["k".repeat(63)]: "v".repeat(63) })).toBeTruthy();
  expect(refusal(() => checkLabels({ env: "v".repeat(64) }))).toEqual({ code: "invalid", path: "labels.env" });
  expect(refusal(() => checkLabels({ env: "pr od" }))).toEqual({ code: "invalid", path: "labels.env" });
  expect(refusal(() => checkLabels({ env: 3 }))).toEqual({ code: "invalid", path: "labels.env" });
  const many = Object.fromEntries(Array.from({ length: MAX_LABELS + 1 }, (_, i) => [`k${i}`, "v"]));
  expect(refusal(() => checkLabels(many))).toEqual({ code: "invalid", path: "labels" });
  expect(Object.keys(checkLabels({ b: "1", a: "2" }))).toEqual(["a", "b"]);
});

test("key=value pairs: a bad pair, a bad key or a key given twice names the field", () => {
  expect(parseLabelPairs(["env=prod", "role=db"], "label")).toEqual({ env: "prod", role: "db" });
  expect(refusal(() => parseLabelPairs(["x=a=b"], "label"))).toEqual({ code: "invalid", path: "label" });
  expect(parseLabelPairs(["env="], "label")).toEqual({ env: "" });
  expect(parseLabelPairs([], "label")).toEqual({});
  expect(refusal(() => parseLabelPairs(["env"], "label"))).toEqual({ code: "invalid", path: "label" });
  expect(refusal(() => parseLabelPairs(["Env=prod"], "label"))).toEqual({ code: "invalid", path: "label" });
  expect(refusal(() => parseLabelPairs(["env=a", "env=b"], "--label"))).toEqual({ code: "invalid", path: "--label" });
  expect(parseLabelPairs(["env=a", "env=a"], "label")).toEqual({ env: "a" });
});

test("checkSelector checks its labels under the field it is given", () => {
  expect(checkSelector({})).toEqual({});
  expect(checkSelector({ labels: { env: "prod" } })).toEqual({ labels: { env: "prod" } });
  expect(refusal(() => checkSelector({ labels: { "Bad key": "x" } }))?.path).toBe("selector.labels.Bad key");
});
