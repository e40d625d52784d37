import { describe, expect, test } from "bun:test";
import { Cron } from "croner";
import { cronInWords, ordinal } from "./cron-words.ts";

const WORDED: Array<[string, string]> = [
  ["0 2 * * *", "every day at 02:00"],
  ["15 * * * *", "every hour at :15"],
  ["30 3 * * 1", "every Monday at 03:30"],
  ["30 3 * * MON", "every Monday at 03:30"],
  ["30 3 * * mon", "every Monday at 03:30"],
  ["*/5 * * * *", "every 5 minutes"],
  ["* * * * *", "every minute"],
  ["*/1 * * * *", "every minute"],
  ["0 * * * *", "every hour at :00"],
  ["0 */6 * * *", "every 6 hours at :00"],
  ["30 */2 * * *", "every 2 hours at :30"],
  ["0 8-18 * * *", "every hour from 08:00 to 18:00"],
  ["*/15 9-17 * * 1-5", "every 15 minutes from 09:00 to 17:59 on weekdays"],
  ["*/5 2 * * *", "every 5 minutes from 02:00 to 02:59"],
  ["* 2 * * *", "every minute from 02:00 to 02:59"],
  ["0 2,14 * * *", "every day at 02:00 and 14:00"],
  ["0 1-5/2 * * *", "every day at 01:00, 03:00 and 05:00"],
  ["0,30 2 * * *", "every day at 02:00 and 02:30"],
  ["5-59/15 * * * *", "every hour at :05, :20, :35 and :50"],
  ["0,30 * * * *", "every hour at :00 and :30"],
  ["0 0 1 * *", "on the 1st of every month at 00:00"],
  ["0 0 1,15 * *", "on the 1st and 15th of every month at 00:00"],
  ["0 0 1 1 *", "on the 1st of January at 00:00"],
  ["0 0 1 JAN,jul *", "on the 1st of January and July at 00:00"],
  ["0 0 * JAN,JUL *", "every day in January and July at 00:00"],
  ["0 0 L * *", "on the last day of every month at 00:00"],
  ["0 0 15W * *", "on the weekday nearest the 15th of every month at 00:00"],
  ["0 3 * * MON#1", "on the first Monday of every month at 03:00"],
  ["0 3 * * 1#2", "on the second Monday of every month at 03:00"],
  ["0 22 * * 5#L", "on the last Friday of every month at 22:00"],
  ["0 22 * * FRI#L", "on the last Friday of every month at 22:00"],
  ["0 2 * * 0,6", "every Saturday and Sunday at 02:00"],
  ["0 2 * * SAT,SUN", "every Saturday and Sunday at 02:00"],
  ["0 2 * * 7", "every Sunday at 02:00"],
  ["0 2 * * MON-FRI", "every weekday at 02:00"],
  ["0 2 * * 1,3,5", "every Monday, Wednesday and Friday at 02:00"],
  ["0 2 * * 0-7", "every day at 02:00"],
  ["0 2 * * ?", "every day at 02:00"],
  ["0 2 ? * *", "every day at 02:00"],
  ["0 2 * 6 1", "every Monday in June at 02:00"],
  ["*/10 * * * 1", "every 10 minutes on Mondays"],
  ["15 * * * 1,2", "every hour at :15 on Mondays and Tuesdays"],
  ["15 * 1 * *", "every hour at :15 on the 1st of every month"],
  ["*/30 * * 12 *", "every 30 minutes in December"],
  // Seconds first (croner's 6-field form).
  ["0 0 2 * * *", "every day at 02:00"],
  ["30 0 2 * * *", "every day at 02:00:30"],
  ["0 15 * * * *", "every hour at :15"],
  ["10 15 * * * *", "every hour at :15:10"],
  ["*/10 * * * * *", "every 10 seconds"],
  ["* * * * * *", "every second"],
  ["0 */5 * * * *", "every 5 minutes"],
  ["0 30 3 * * 1", "every Monday at 03:30"],
  // Nicknames, and space around.
  ["@daily", "every day at 00:00"],
  ["@hourly", "every hour at :00"],
  ["  0 2 * * *  ", "every day at 02:00"],
];

/** Not put in words: the caller shows the expression alone. */
const NOT_WORDED = [
  "0 2 1 * 1", // croner ORs the day fields
  "0 2 * * +MON", // and ANDs them
  "*/7 * * * *", // restarts each hour: not every 7 minutes
  "0 */5 * * *", // 20:00 then 00:00
  "0 0 */2 * *",
  "1,2,3,4,5,6,7 2 * * *",
  "30 */5 * * * *",
  "*/20 15 * * * *",
  "0 0 1 1 * 2027",
  "0 2 * *",
  "",
  "nonsense",
  "61 * * * *",
  "0 24 * * *",
  "0 2 * * 5L",
  "0 2 L-2 * *",
  "0 2 * 13 *",
  "0 2 * * MON#6",
  "5-1 * * * *",
  "0/15 * * * *", // croner refuses a step after a lone number
  "5/15 * * * *",
];

describe("cronInWords", () => {
  for (const [expr, words] of WORDED) {
    test(`${JSON.stringify(expr)} reads "${words}"`, () => {
      expect(cronInWords(expr)).toBe(words);
    });
  }
  for (const expr of NOT_WORDED) {
    test(`${JSON.stringify(expr)} is not put in words`, () => {
      expect(cronInWords(expr)).toBeNull();
    });
  }

  test("every worded expression is one croner accepts", () => {
    for (const [expr] of WORDED) {
      if (expr.startsWith("@")) continue;
      expect(() => new Cron(expr.trim(), { paused: true, mode: "5-or-6-parts" })).not.toThrow();
    }
  });

  test("croner's runs agree with the words for the presets' shapes", () => {
    const from = new Date("2026-12-02T10:07:00Z");
    const runs = (e: string) =>
      new Cron(e, { paused: true, timezone: "UTC" }).nextRuns(3, from).map((d) => d.toISOString());
    expect(runs("30 3 * * 1")).toEqual([
      "2026-12-07T03:30:00.000Z",
      "2026-12-14T03:30:00.000Z",
      "2026-12-21T03:30:00.000Z",
    ]);
    expect(runs("0 22 * * 5#L")[0]).toBe("2026-12-25T22:00:00.000Z");
    expect(runs("5-59/15 * * * *")).toEqual([
      "2026-12-02T10:20:00.000Z",
      "2026-12-02T10:35:00.000Z",
      "2026-12-02T10:50:00.000Z",
    ]);
  });

  test("ordinals", () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31].map(ordinal)).toEqual([
      "1st",
      "2nd",
      "3rd",
      "4th",
      "11th",
      "12th",
      "13th",
      "21st",
      "22nd",
      "23rd",
      "31st",
    ]);
  });
});
