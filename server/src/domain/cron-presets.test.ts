import { expect, test } from "bun:test";
import { presetCron, presetOf } from "./cron-presets.ts";
import { cronInWords } from "./cron-words.ts";

test("each preset makes a cron, which reads back as the same preset and in words", () => {
  const cases = [
    [{ kind: "hourly", minute: 15 }, "15 * * * *", "every hour at :15"],
    [{ kind: "nightly", hour: 2, minute: 0 }, "0 2 * * *", "every day at 02:00"],
    [{ kind: "weekly", day: 1, hour: 3, minute: 30 }, "30 3 * * 1", "every Monday at 03:30"],
    [{ kind: "weekly", day: 0, hour: 23, minute: 59 }, "59 23 * * 0", "every Sunday at 23:59"],
  ] as const;
  for (const [preset, cron, words] of cases) {
    expect(presetCron(preset)).toBe(cron);
    expect(presetOf(cron)).toEqual(preset);
    expect(cronInWords(cron)).toBe(words);
  }
});

test("anything else is custom", () => {
  for (const e of ["*/5 * * * *", "0 2 * * 1-5", "60 * * * *", "0 24 * * *", "0 2 1 * *", "0 0 2 * * *", ""]) {
    expect(presetOf(e)).toEqual({ kind: "custom" });
  }
  expect(presetOf(" 0  2 * * 7 ")).toEqual({ kind: "weekly", day: 0, hour: 2, minute: 0 });
});
