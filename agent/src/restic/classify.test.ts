import { describe, expect, test } from "bun:test";
import { classifyFailure, repositoryPresence } from "./classify.ts";

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

// The probe's texts, measured with restic 0.14.0 and 0.18.0 (`restic --json cat config --no-lock`).
describe("repositoryPresence", () => {
  test("exit 0: the repository exists", () => {
    expect(repositoryPresence([], 0)).toBe("exists");
  });

  test("missing: 0.18's exit code 10, or 0.14's not-found text", () => {
    expect(
      repositoryPresence(
        ["Fatal: repository does not exist: unable to open config file: stat /r/config: no such file or directory"],
        10,
        10,
      ),
    ).toBe("missing");
    expect(repositoryPresence([], 10)).toBe("missing");
    for (const line of [
      "Fatal: unable to open config file: stat /r/config: no such file or directory",
      "Fatal: unable to open config file: stat /srv/r/config: file does not exist",
      "Fatal: unable to open config file: <config/> does not exist",
      "Fatal: unable to open config file: Stat: The specified key does not exist.",
      "Fatal: unable to open config file: Stat: The specified bucket does not exist.",
      "Fatal: unable to open config file: CreateFile C:\\r\\config: The system cannot find the path specified.",
    ]) {
      expect(repositoryPresence([line, "Is there a repository at the following location?", "/r"], 1)).toBe("missing");
    }
  });

  test("a wrong password, a lock or an unreachable server is not missing", () => {
    expect(repositoryPresence(["Fatal: wrong password or no key found"], 1)).toBe("unknown");
    expect(repositoryPresence(["Fatal: wrong password or no key found"], 12, 12)).toBe("unknown");
    expect(repositoryPresence(["unable to create lock in backend: repository is already locked"], 11, 11)).toBe(
      "unknown",
    );
    // 0.14 says "unable to open config file" for any failed stat, also a refused connection.
    const refused = [
      'Fatal: unable to open config file: client.Head: Head "http://127.0.0.1:1/x/config": dial tcp 127.0.0.1:1: connect: connection refused',
      "Is there a repository at the following location?",
      "rest:http://127.0.0.1:1/x/",
    ];
    expect(repositoryPresence(refused, 1)).toBe("unknown");
    expect(repositoryPresence(["Fatal: unable to open config file: stat /r/config: permission denied"], 1)).toBe(
      "unknown",
    );
    expect(
      repositoryPresence(["Fatal: unable to open repository at /f: ReadDir: open /f/keys: not a directory"], 1),
    ).toBe("unknown");
    // 0.18 with an exit_error line that is not "does not exist"
    expect(
      repositoryPresence(["Fatal: unable to open config file: stat /r/config: no such file or directory"], 1, 1),
    ).toBe("unknown");
    expect(repositoryPresence([], 130)).toBe("unknown");
  });
});
