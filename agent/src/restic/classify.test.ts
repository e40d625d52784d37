import { describe, expect, test } from "bun:test";
import { classifyFailure } from "./classify.ts";

describe("classifyFailure", () => {
  test("wrong password (0.14 exits 1)", () => {
    const f = classifyFailure(["Fatal: wrong password or no key found"], 1);
    expect(f.reason).toBe("wrong_password");
    expect(f.error).toContain("password is wrong");
    expect(f.error).toEndWith("Fatal: wrong password or no key found");
  });

  test("missing repository suggests an init job", () => {
    const f = classifyFailure(
      [
        "Fatal: unable to open config file: stat /r/config: no such file or directory",
        "Is there a repository at the following location?",
        "/r",
      ],
      1,
    );
    expect(f.reason).toBe("repo_missing");
    expect(f.summary).toContain("init job");
  });

  test("locked", () => {
    const f = classifyFailure(
      ["unable to create lock in backend: repository is already locked by PID 5284 on vm by root (UID 0, GID 0)"],
      1,
    );
    expect(f.reason).toBe("locked");
  });

  test("network", () => {
    for (const line of [
      "Fatal: unable to open repository: dial tcp 10.0.0.1:8000: connect: connection refused",
      "Get https://x/: dial tcp: lookup nas.invalid: no such host",
      "net/http: TLS handshake timeout",
    ]) {
      expect(classifyFailure([line], 1).reason).toBe("network");
    }
  });

  test("every backup path missing", () => {
    expect(
      classifyFailure(["/x does not exist, skipping", "Fatal: all target directories/files do not exist"], 1).reason,
    ).toBe("paths_missing");
  });

  test("newer restic's exit codes win over the text (0.17+: 10, 11, 12)", () => {
    expect(classifyFailure([], 10).reason).toBe("repo_missing");
    expect(classifyFailure([], 11).reason).toBe("locked");
    expect(classifyFailure(["something odd"], 12).reason).toBe("wrong_password");
  });

  test("0.18's exit_error code counts when the process code says nothing more", () => {
    expect(classifyFailure(["Fatal: odd"], 1, 12).reason).toBe("wrong_password");
    expect(classifyFailure(["Fatal: odd"], 1, 1).reason).toBe("unknown");
  });

  test("no snapshot for latest, or an unknown id (both versions' texts)", () => {
    for (const line of [
      "latest snapshot for criteria not found: no snapshot found Paths:[] Hosts:[web-a]",
      "Fatal: failed to find snapshot: snapshot filter (Paths:[] Tags:[] Hosts:[web-a]): no snapshot found",
      'invalid id "deadbeef": no matching ID found for prefix "deadbeef"',
    ]) {
      expect(classifyFailure([line], 1).reason).toBe("snapshot_missing");
    }
  });

  test("unknown keeps the last 5 stderr lines", () => {
    const tail = ["1", "2", "3", "", "4", "5", "6", "7"];
    const f = classifyFailure(tail, 1);
    expect(f.reason).toBe("unknown");
    expect(f.error).toBe("restic failed with exit code 1.\n3\n4\n5\n6\n7");
  });

  test("signals are named", () => {
    expect(classifyFailure([], 137).summary).toContain("signal 9");
    expect(classifyFailure([], 130).summary).toContain("interrupted");
  });
});
