import { describe, expect, test } from "bun:test";
import { durationWords, retentionInWords } from "./retention-words.ts";

describe("retentionInWords", () => {
  test("counts in restic's order, and whether it prunes", () => {
    expect(retentionInWords({ keep_last: 10, keep_daily: 7, keep_weekly: 4, keep_monthly: 12 }, true)).toBe(
      "keeps the last 10, 7 daily, 4 weekly, 12 monthly; prunes afterwards",
    );
    expect(retentionInWords({ keep_monthly: 12, keep_daily: 7, keep_weekly: 4 }, false)).toBe(
      "keeps 7 daily, 4 weekly, 12 monthly; does not prune",
    );
    expect(retentionInWords({ keep_last: 10 })).toBe("keeps the last 10");
  });
  test("hourly and yearly, zero counts left out", () => {
    expect(retentionInWords({ keep_hourly: 24, keep_daily: 0, keep_yearly: 2 })).toBe("keeps 24 hourly, 2 yearly");
  });
  test("within, within per period, and tags", () => {
    expect(retentionInWords({ keep_within: "30d" })).toBe("keeps all within 30 days");
    expect(retentionInWords({ keep_daily: 7, keep_within: "1y6m" }, true)).toBe(
      "keeps 7 daily, all within 1 year 6 months; prunes afterwards",
    );
    expect(retentionInWords({ keep_within_daily: "7d", keep_within_weekly: "1m" })).toBe(
      "keeps daily within 7 days, weekly within 1 month",
    );
    expect(retentionInWords({ keep_tags: ["keep"] })).toBe("keeps any tagged keep");
    expect(retentionInWords({ keep_daily: 7, keep_tags: ["keep", "release", "gold"] })).toBe(
      "keeps 7 daily, any tagged keep, release or gold",
    );
  });
  test("nothing kept", () => {
    expect(retentionInWords({}, false)).toBe("keeps nothing explicitly; does not prune");
    expect(retentionInWords(null)).toBe("keeps nothing explicitly");
    expect(retentionInWords({ keep_tags: [] }, true)).toBe("keeps nothing explicitly; prunes afterwards");
  });
  test("never a brace, whatever the policy holds", () => {
    expect(retentionInWords({ keep_last: "10", odd: { x: 1 } } as never)).not.toContain("{");
  });
  test("durations", () => {
    expect(durationWords("1d")).toBe("1 day");
    expect(durationWords("2y1m3d4h")).toBe("2 years 1 month 3 days 4 hours");
    expect(durationWords("soon")).toBe("soon");
  });
});
