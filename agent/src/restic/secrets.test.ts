import { describe, expect, test } from "bun:test";
import { baseEnv, copyEnv, redactorFor, resticEnv, usableRepo } from "./secrets.ts";

describe("secrets", () => {
  test("a copy's env: the target is the repository, the host's own the source, no secret in a value but files", () => {
    const parent = { PATH: "/bin" };
    const target = {
      repo_url: "b2:offsite:/x",
      repo_password: "tp",
      repo_env: { B2_ACCOUNT_ID: "i", B2_ACCOUNT_KEY: "k" },
    };
    const source = { repo_url: "rest:https://h/r", repo_password: "sp", repo_env: { RESTIC_REST_PASSWORD: "rp" } };
    const made = copyEnv(
      target,
      "/t/pw",
      { ...source, repo_env: { RESTIC_REST_USERNAME: "u", RESTIC_REST_PASSWORD: "rp" } },
      "/t/spw",
      { parent },
    );
    expect(made).toEqual({
      ok: true,
      env: {
        PATH: "/bin",
        RESTIC_REPOSITORY: "b2:offsite:/x",
        RESTIC_PASSWORD_FILE: "/t/pw",
        B2_ACCOUNT_ID: "i",
        B2_ACCOUNT_KEY: "k",
        RESTIC_FROM_REPOSITORY: "rest:https://u:rp@h/r",
        RESTIC_FROM_PASSWORD_FILE: "/t/spw",
      },
    });
    // Two S3 repositories under different keys cannot share restic's one environment.
    const s3 = (key: string) => ({
      repo_url: "s3:s3.example.com/b",
      repo_password: "p",
      repo_env: { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: key },
    });
    const clash = copyEnv(s3("one-secret"), "/a", s3("other-secret"), "/b", { parent });
    expect(clash.ok).toBe(false);
    if (!clash.ok) {
      expect(clash.error).toContain("AWS_SECRET_ACCESS_KEY");
      expect(clash.error).not.toContain("secret-");
    }
    expect(copyEnv(s3("same"), "/a", s3("same"), "/b", { parent }).ok).toBe(true);
  });

  test("the redactor covers the copy targets' secrets", () => {
    const redact = redactorFor({
      repo_url: "/r",
      repo_password: "main-pw",
      copy_targets: [
        {
          id: "t",
          repo_url: "rest:https://u:url-pw@h/",
          repo_password: "target-pw",
          repo_env: { AWS_SECRET_ACCESS_KEY: "aws-key" },
        },
      ],
    });
    expect(redact("main-pw target-pw aws-key url-pw")).toBe("*** *** *** ***");
  });

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

  test("repo_env (protocol 8): only the URL's backend's variables reach restic, over the older pair", () => {
    const s3 = resticEnv(
      {
        repo_url: "s3:https://s3.example.com/b",
        repo_password: "p",
        repo_username: "old-id",
        repo_env: { AWS_ACCESS_KEY_ID: "AKIA", AWS_DEFAULT_REGION: "eu-1", LD_PRELOAD: "/x.so", B2_ACCOUNT_ID: "b" },
      },
      "/f",
      { parent: { PATH: "/bin" } },
    );
    expect(s3).toEqual({
      PATH: "/bin",
      RESTIC_REPOSITORY: "s3:https://s3.example.com/b",
      RESTIC_PASSWORD_FILE: "/f",
      AWS_ACCESS_KEY_ID: "AKIA",
      AWS_DEFAULT_REGION: "eu-1",
    });
    // REST: user and password go into the URL, which restic 0.14 understands too.
    const rest = resticEnv(
      {
        repo_url: "rest:http://nas:8000/r",
        repo_password: "p",
        repo_env: { RESTIC_REST_USERNAME: "me", RESTIC_REST_PASSWORD: "s3cr3t" },
      },
      "/f",
      { parent: {} },
    );
    expect(rest).toEqual({ RESTIC_REPOSITORY: "rest:http://me:s3cr3t@nas:8000/r", RESTIC_PASSWORD_FILE: "/f" });
  });

  test("redaction covers the secret variables, not the plain ones", () => {
    const redact = redactorFor({
      repo_url: "azure:c:/p",
      repo_password: "pw-1234",
      repo_env: { AZURE_ACCOUNT_NAME: "acct", AZURE_ACCOUNT_SAS: "sv=2024&sig=abc" },
    });
    expect(redact("acct used sv=2024&sig=abc")).toBe("acct used ***");
  });

  test("a repo needs a url and a password", () => {
    expect(usableRepo(null)).toBe(false);
    expect(usableRepo({ repo_url: " ", repo_password: "p" })).toBe(false);
    expect(usableRepo({ repo_url: "/r", repo_password: "" })).toBe(false);
    expect(usableRepo({ repo_url: "/r", repo_password: "p" })).toBe(true);
  });
});
