import { expect, test } from "bun:test";
import { defaultRestoreFolder, landingLine, landingPath } from "./restore-landing.ts";

test("files land at <target>/<original absolute path>; a Windows drive becomes a folder", () => {
  const staging = defaultRestoreFolder("linux");
  expect(landingPath(staging, "/srv/www/index.html")).toBe("/var/lib/restic-fleet-agent/restore/srv/www/index.html");
  expect(landingPath("/srv/restore/", "/etc")).toBe("/srv/restore/etc");
  // An in-place restore puts every file back where it was.
  expect(landingPath("/", "/etc/hosts")).toBe("/etc/hosts");
  expect(defaultRestoreFolder("windows")).toBe("C:\\ProgramData\\restic-fleet-agent\\restore");
  expect(landingPath("D:\\restore", "C:\\Users\\ann\\doc.txt")).toBe("D:\\restore\\C\\Users\\ann\\doc.txt");
  // The snapshot browser's form of the same path.
  expect(landingPath("D:\\restore\\", "/C/Users/ann")).toBe("D:\\restore\\C\\Users\\ann");
});

test("the run form's line names the first three paths, or the rule when none is known", () => {
  expect(landingLine("/r", [])).toBe("Files land at /r/<original absolute path>.");
  expect(landingLine("  ", [])).toBe("Files land at <target>/<original absolute path>.");
  expect(landingLine("/r", ["/a", "/b", "/c", "/d", "/e"])).toBe(
    "Files land at /r/a, /r/b, /r/c and 2 more (the target folder, then each original absolute path).",
  );
});
