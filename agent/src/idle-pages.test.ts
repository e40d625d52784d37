import { describe, expect, test } from "bun:test";
import { cleanFileMappings, IDLE_RELEASE_DELAY_MS, IdlePages } from "./idle-pages.ts";
import { silentLogger } from "./log.ts";
import { FakeClock } from "./testing/fake-clock.ts";

const SMAPS = `00200000-01a39000 r--p 00000000 fd:01 123 /opt/agent/restic-fleet-agent
Size:              24804 kB
Rss:                7396 kB
Anonymous:             0 kB
01a40000-0684a000 r-xp 01838000 fd:01 123 /opt/agent/restic-fleet-agent
Size:              79912 kB
Rss:               30792 kB
Anonymous:             0 kB
0684a000-0685f000 rw-p 06641000 fd:01 123 /opt/agent/restic-fleet-agent
Rss:                  84 kB
Anonymous:            44 kB
0685f000-06867000 r--p 06656000 fd:01 123 /opt/agent/restic-fleet-agent
Rss:                  32 kB
Anonymous:            32 kB
7f0000000000-7f0040000000 rw-p 00000000 00:00 0
Rss:                7524 kB
Anonymous:          7524 kB
7f1000000000-7f1000001000 r--p 00000000 fd:01 9 /usr/lib/locale/C.utf8/LC_CTYPE
Rss:                   0 kB
Anonymous:             0 kB
7f2000000000-7f2000010000 r-xp 00000000 fd:01 77 /tmp/old-agent (deleted)
Rss:                  64 kB
Anonymous:             0 kB
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
Rss:                   4 kB
Anonymous:             0 kB
`;

describe("cleanFileMappings", () => {
  test("keeps only read-only file mappings with resident pages and no copied-on-write page", () => {
    expect(cleanFileMappings(SMAPS)).toEqual([
      { start: 0x200000n, length: 0x1a39000n - 0x200000n, rss: 7396 * 1024 },
      { start: 0x1a40000n, length: 0x684a000n - 0x1a40000n, rss: 30792 * 1024 },
    ]);
  });

  test("an empty or unreadable listing gives nothing", () => {
    expect(cleanFileMappings("")).toEqual([]);
    expect(cleanFileMappings("Rss: 10 kB\n")).toEqual([]);
  });
});

describe("IdlePages", () => {
  const setup = () => {
    const clock = new FakeClock();
    let releases = 0;
    const pages = new IdlePages({
      clock,
      log: silentLogger,
      release: async () => {
        releases++;
        return 1;
      },
    });
    return { clock, pages, releases: () => releases };
  };

  test("releases once the delay has passed without work, and not before", () => {
    const { clock, pages, releases } = setup();
    pages.quiet();
    clock.advance(IDLE_RELEASE_DELAY_MS - 1);
    expect(releases()).toBe(0);
    clock.advance(1);
    expect(releases()).toBe(1);
    expect(clock.pending).toBe(0);
  });

  test("work postpones it until the work has ended, and a quiet moment during work changes nothing", () => {
    const { clock, pages, releases } = setup();
    pages.quiet();
    clock.advance(IDLE_RELEASE_DELAY_MS / 2);
    pages.busy();
    pages.quiet();
    clock.advance(IDLE_RELEASE_DELAY_MS * 3);
    expect(releases()).toBe(0);
    pages.idle();
    clock.advance(IDLE_RELEASE_DELAY_MS);
    expect(releases()).toBe(1);
  });

  test("each quiet moment restarts the delay; stop cancels it for good", () => {
    const { clock, pages, releases } = setup();
    pages.quiet();
    clock.advance(IDLE_RELEASE_DELAY_MS - 1);
    pages.quiet();
    clock.advance(IDLE_RELEASE_DELAY_MS - 1);
    expect(releases()).toBe(0);
    pages.stop();
    pages.idle();
    clock.advance(IDLE_RELEASE_DELAY_MS * 2);
    expect(releases()).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
