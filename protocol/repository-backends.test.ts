import { describe, expect, test } from "bun:test";
import { BACKENDS, backendOf, envProblem, isSecretEnv, parseRepositoryUrl } from "./repository-backends.ts";

const byId = (id: string) => {
  const b = BACKENDS.find((x) => x.id === id);
  if (!b) throw new Error(id);
  return b;
};

// [backend, URL fields, the URL restic takes]
const cases: Array<[string, Record<string, string>, string]> = [
  ["local", { path: "/srv/restic/{host}" }, "/srv/restic/{host}"],
  [
    "sftp",
    { user: "backup", host: "nas.example.com", port: "", path: "/srv/restic" },
    "sftp:backup@nas.example.com:/srv/restic",
  ],
  ["sftp", { user: "backup", host: "nas", port: "2222", path: "/srv/restic" }, "sftp://backup@nas:2222//srv/restic"],
  ["sftp", { user: "", host: "nas", port: "", path: "repo" }, "sftp:nas:repo"],
  ["rest", { url: "https://backup.example.com:8000/{host}/" }, "rest:https://backup.example.com:8000/{host}/"],
  [
    "s3",
    { endpoint: "https://s3.example.com", bucket: "backups", prefix: "{host}" },
    "s3:https://s3.example.com/backups/{host}",
  ],
  ["s3", { endpoint: "http://127.0.0.1:9000", bucket: "b", prefix: "" }, "s3:http://127.0.0.1:9000/b"],
  ["b2", { bucket: "backups", path: "fleet/{host}" }, "b2:backups:fleet/{host}"],
  ["azure", { container: "backups", path: "/{host}" }, "azure:backups:/{host}"],
  ["gs", { bucket: "backups", path: "/fleet" }, "gs:backups:/fleet"],
  ["rclone", { remote: "onedrive:restic/{host}" }, "rclone:onedrive:restic/{host}"],
];

describe("repository backends: URL build and parse", () => {
  for (const [id, parts, url] of cases) {
    test(`${id}: ${url} round-trips`, () => {
      expect(byId(id).build(parts)).toBe(url);
      expect(parseRepositoryUrl(url)).toEqual({ backend: id as never, parts });
    });
  }

  test("an S3 endpoint without a scheme is built as https, and a slash-led prefix is not doubled", () => {
    expect(byId("s3").build({ endpoint: "s3.example.com/", bucket: "b", prefix: "/x" })).toBe(
      "s3:https://s3.example.com/b/x",
    );
  });

  test("a Windows path and a bare path are local; unknown backends are left to the text field", () => {
    expect(backendOf("C:\\backup").id).toBe("local");
    expect(backendOf("/srv/r").id).toBe("local");
    expect(parseRepositoryUrl("local:/srv/r")).toEqual({ backend: "local", parts: { path: "/srv/r" } });
    expect(parseRepositoryUrl("swift:container:/p")).toBeNull();
    expect(parseRepositoryUrl("s3:")).toBeNull();
  });
});

describe("repository backends: environment variables", () => {
  test("each variable belongs to its URL's backend", () => {
    expect(envProblem("s3:https://s3.example.com/b", ["AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION"])).toBeNull();
    expect(envProblem("b2:b:p", ["AWS_ACCESS_KEY_ID"])).toContain(
      "env.AWS_ACCESS_KEY_ID: not a variable of a Backblaze B2",
    );
    expect(envProblem("/srv/r", ["B2_ACCOUNT_ID"])).toContain("takes no environment variables");
    expect(envProblem("s3:https://x/b", ["LD_PRELOAD"])).toContain("env.LD_PRELOAD");
  });

  test("secrets are the keys, never ids, regions or file paths", () => {
    for (const name of [
      "AWS_SECRET_ACCESS_KEY",
      "B2_ACCOUNT_KEY",
      "AZURE_ACCOUNT_KEY",
      "AZURE_ACCOUNT_SAS",
      "RESTIC_REST_PASSWORD",
    ]) {
      expect(isSecretEnv(name)).toBe(true);
    }
    for (const name of [
      "AWS_ACCESS_KEY_ID",
      "AWS_DEFAULT_REGION",
      "GOOGLE_APPLICATION_CREDENTIALS",
      "GOOGLE_PROJECT_ID",
    ]) {
      expect(isSecretEnv(name)).toBe(false);
    }
  });
});
