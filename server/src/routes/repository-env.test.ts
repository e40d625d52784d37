import { beforeEach, describe, expect, test } from "bun:test";
import { forAgent } from "../domain/host-push.ts";
import { memoryApp } from "../testing/memory-app.ts";

// A repository's restic variables (issue 17): the names its backend takes, the secret ones
// write-only, PATCH per variable, and what each agent version is sent.

let t: Awaited<ReturnType<typeof memoryApp>>;
beforeEach(async () => {
  t = await memoryApp();
});

const SECRET = "s3-secret-9f2c1e";
const s3 = {
  name: "offsite",
  url: "s3:https://s3.example.com/backups/{host}",
  env: { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: SECRET, AWS_DEFAULT_REGION: "eu-central-1" },
};
const hostOf = (id: string) => {
  const h = t.domain.hosts.get(id);
  return { id: h.id, name: h.name, restic_host: h.restic_host };
};

describe("repository env", () => {
  test("the plain variables are shown, the secret ones only by name, and never in the audit", async () => {
    const r = await t.call("POST", "/repositories", s3);
    expect(r.status).toBe(201);
    expect(r.body.env).toEqual({ AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_DEFAULT_REGION: "eu-central-1" });
    expect(r.body.secret_env).toEqual(["AWS_SECRET_ACCESS_KEY"]);
    const seen = JSON.stringify([
      r.body,
      (await t.call("GET", "/repositories")).body,
      (await t.call("GET", "/audit-log")).body,
    ]);
    expect(seen).not.toContain(SECRET);
    // A host is sent all of them.
    expect(t.domain.repositories.resolveForHost(r.body.id, hostOf(t.hostId)).repo_env).toEqual(s3.env);
  });

  test("a variable of another backend, or any other name, is refused naming it", async () => {
    const b2 = await t.call("POST", "/repositories", { ...s3, url: "b2:backups:{host}" });
    expect(b2.status).toBe(400);
    expect(b2.body.error).toMatchObject({ path: "env" });
    expect(b2.body.error.message).toContain("env.AWS_ACCESS_KEY_ID: not a variable of a Backblaze B2 repository");
    const odd = await t.call("POST", "/repositories", { ...s3, env: { LD_PRELOAD: "/tmp/x.so" } });
    expect(odd.status).toBe(400);
    expect(odd.body.error.message).toContain("env.LD_PRELOAD");
    const lower = await t.call("POST", "/repositories", { ...s3, env: { path: "x" } });
    expect(lower.status).toBe(400);
  });

  test("PATCH sets the variables given, '' removes one, and a move to another backend must clear the old ones", async () => {
    const id = (await t.call("POST", "/repositories", s3)).body.id;
    const p = await t.call("PATCH", `/repositories/${id}`, {
      env: { AWS_DEFAULT_REGION: "", AWS_SECRET_ACCESS_KEY: "new-secret-77" },
    });
    expect(p.status).toBe(200);
    expect(p.body.env).toEqual({ AWS_ACCESS_KEY_ID: "AKIAEXAMPLE" });
    expect(t.domain.repositories.resolveForHost(id, hostOf(t.hostId)).repo_env?.AWS_SECRET_ACCESS_KEY).toBe(
      "new-secret-77",
    );
    const moved = await t.call("PATCH", `/repositories/${id}`, {
      url: "b2:backups:{host}",
      env: { B2_ACCOUNT_ID: "001" },
    });
    expect(moved.status).toBe(400);
    expect(moved.body.error.message).toContain('clear it with "env": {"AWS_ACCESS_KEY_ID": ""}');
    const ok = await t.call("PATCH", `/repositories/${id}`, {
      url: "b2:backups:{host}",
      env: { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", B2_ACCOUNT_ID: "001", B2_ACCOUNT_KEY: "K001" },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ env: { B2_ACCOUNT_ID: "001" }, secret_env: ["B2_ACCOUNT_KEY"] });
  });

  test("an agent of protocol 8 gets repo_env whole; an older one the backend's key pair as username/credential", () => {
    expect(forAgent("s3:https://x/b", s3.env, 8)).toEqual({ env: s3.env });
    expect(forAgent("s3:https://x/b", s3.env, 7)).toEqual({ username: "AKIAEXAMPLE", credential: SECRET });
    expect(forAgent("gs:b:/p", { GOOGLE_PROJECT_ID: "p" }, 7)).toEqual({ username: undefined, credential: undefined });
  });
});
