// The real release, on this test process: its executable's clean pages leave its RSS, and the
// process goes on running the code it just released.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { releaseCleanPages } from "./idle-pages.ts";

const rssFileKb = () => Number(/^RssFile:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1]);

test.skipIf(process.platform !== "linux")(
  "releases the clean file pages of the process, which keeps working",
  async () => {
    await releaseCleanPages(); // the first call loads bun:ffi and libc: their pages count from here
    const before = rssFileKb();
    const released = await releaseCleanPages();
    const after = rssFileKb();
    expect(released).toBeGreaterThan(0);
    expect(after).toBeLessThan(before);
    // Code and read-only data come back from the page cache as they are used.
    expect(JSON.parse(JSON.stringify({ a: [1, "two", { three: 3 }] }))).toEqual({ a: [1, "two", { three: 3 }] });
    expect(new Intl.DateTimeFormat("en-US", { timeZone: "Europe/Paris", year: "numeric" }).format(0)).toBe("1970");
  },
);
