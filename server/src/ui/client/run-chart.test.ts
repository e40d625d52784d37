import { expect, test } from "bun:test";
import { timeTicks } from "./run-chart.ts";

// The run chart's time axis: labels in the coarsest form under which no two repeat (a date range
// labelled "12/1/2026 … 12/1/2026" says nothing).

const at = (iso: string) => Date.parse(iso);
const labels = (a: string, b: string, n: number) => timeTicks(at(a), at(b), n).map(([, l]) => l);
const distinct = (xs: string[]) => new Set(xs).size === xs.length;

test("ticks span the range evenly, first and last at its ends", () => {
  const ticks = timeTicks(at("2026-12-01T00:00:00Z"), at("2026-12-01T04:00:00Z"), 5);
  expect(ticks.map(([t]) => t)).toEqual([0, 1, 2, 3, 4].map((h) => at("2026-12-01T00:00:00Z") + h * 3_600_000));
});

test("within hours, within days, over weeks and within a minute, no two labels repeat", () => {
  for (const [a, b, n] of [
    ["2026-12-01T09:00:00Z", "2026-12-01T11:00:00Z", 6],
    ["2026-12-01T09:00:00Z", "2026-12-02T09:00:00Z", 6],
    ["2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", 6],
    ["2026-12-01T09:00:00Z", "2026-12-01T09:00:40Z", 4],
    ["2026-12-01T00:00:00Z", "2027-12-01T00:00:00Z", 3],
  ] as const) {
    expect(distinct(labels(a, b, n))).toBe(true);
  }
});

test("over several days the labels are dates, not times", () => {
  const ls = labels("2026-11-01T12:00:00Z", "2026-11-20T12:00:00Z", 3);
  expect(ls.every((l) => !/\d{1,2}:\d{2}/.test(l))).toBe(true);
});
