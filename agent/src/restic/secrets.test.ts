import { describe, expect, test } from "bun:test";
import { baseEnv, redactorFor, resticEnv, usableRepo } from "./secrets.ts";

describe("secrets", () => {
  test("the child env drops RESTIC_* and RF_* from the parent", () => {
    const env = baseEnv({ PATH: "/bin", HOME: "/root", RESTIC_PASSWORD: "x", restic_repository: "y", RF_TOKEN: "t" });
    expect(env).toEqual({ PATH: "/bin", HOME: "/root" });
  });

  test("restic's env: repository, password file, and backend credentials by scheme", () => {
    const parent = { PATH: "/bin", RESTIC_PASSWORD: "leak" };
    expect(resticEnv({ repo_url: "/r", repo_password: "p" }, "/tmp/pw", { parent })).toEqual({
      PATH: "/bin",
      RESTIC_REPOSITORY: "/r",
      RESTIC_PASSWORD_FILE: "/tmp/pw",
    });
    const b2 = resticEnv(
      { repo_url: "b2:bucket:/x", repo_password: "p", repo_username: "id", repo_credential: "key" },
      "/f",
      {
        parent,
        cacheDir: "/cache",
      },
    );
    expect(b2).toMatchObject({ B2_ACCOUNT_ID: "id", B2_ACCOUNT_KEY: "key", RESTIC_CACHE_DIR: "/cache" });
    const rest = resticEnv(
      { repo_url: "rest:https://nas:8000/repo", repo_password: "p", repo_username: "me", repo_credential: "p@ss" },
      "/f",
      { parent },
    );
    expect(rest.RESTIC_REPOSITORY).toBe("rest:https://me:p%40ss@nas:8000/repo");
  });

  test("redaction covers the password, the credential and its URL-encoded form", () => {
    const redact = redactorFor({ repo_url: "rest:x", repo_password: "hunter2", repo_credential: "p@ss" });
    expect(redact("pw hunter2, cred p@ss, url me:p%40ss@host")).toBe("pw ***, cred ***, url me:***@host");
    expect(redactorFor(null)("unchanged")).toBe("unchanged");
  });

  test("a repo needs a url and a password", () => {
    expect(usableRepo(null)).toBe(false);
    expect(usableRepo({ repo_url: " ", repo_password: "p" })).toBe(false);
    expect(usableRepo({ repo_url: "/r", repo_password: "" })).toBe(false);
    expect(usableRepo({ repo_url: "/r", repo_password: "p" })).toBe(true);
  });
});
