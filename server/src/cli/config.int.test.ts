import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

// `restic-fleet-server config export|diff|apply`, the real CLI against a real `serve` process:
// the git workflow of docs/fleet-config.md, and its errors.

const MAIN = join(import.meta.dir, "..", "main.ts");
const dir = mkdtempSync(join(tmpdir(), "rf-config-cli-"));
const dataDir = join(dir, "data");
const SECRET = "prod-pw-5d0c2e7b-only-in-the-server-env";
let server: Subprocess<"ignore", "ignore", "pipe">;
let url = "";
let token = "";
let log = "";

async function run(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawn([process.execPath, MAIN, ...args], {
    env: { ...process.env, RF_DATA_DIR: dataDir, RF_SERVER: url, RF_TOKEN: token, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { stdout, stderr, code };
}

beforeAll(async () => {
  server = Bun.spawn([process.execPath, MAIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir], {
    // The secret is in the server's environment only, never the client's.
    env: { ...process.env, RF_ADMIN_PASSWORD: "first-admin-pw", RF_SECRET_PROD_PASSWORD: SECRET },
    stdout: "ignore",
    stderr: "pipe",
  });
  const decoder = new TextDecoder();
  const reader = server.stderr.getReader();
  while (!/listening.*\n/.test(log)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited:\n${log}`);
    log += decoder.decode(value, { stream: true });
  }
  url = (JSON.parse(log.split("\n").find((l) => l.includes("listening")) ?? "{}") as { url: string }).url;
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      log += decoder.decode(value, { stream: true });
    }
  })();
  const made = await run(["api-token", "create", "--user", "admin"]);
  expect(made.code).toBe(0);
  token = made.stdout.trim();
});
afterAll(async () => {
  server.kill("SIGTERM");
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
});

const FLEET = `version: 1
repositories:
  - name: prod
    url: /srv/restic/prod
    password: {env: RF_SECRET_PROD_PASSWORD}
  - name: staging
    url: /srv/restic/staging/{host}
    auto_init: true
policies:
  - name: prod-nightly
    selector: {labels: {env: prod}}
    repository: prod
    schedules:
      - {kind: backup, cron_expr: "0 2 * * *", paths: [/srv]}
  - name: staging-nightly
    selector: {labels: {env: staging}}
    repository: staging
    schedules:
      - {kind: backup, cron_expr: "0 3 * * *", paths: [/srv]}
notification_channels:
  - name: ops
    kind: ntfy
    config: {url: "https://ntfy.example.com/ops"}
alert_rules:
  - name: prod-failures
    selector: {labels: {env: prod}}
    conditions: [backup_failed]
    channels: [ops]
`;

test("export, edit, diff (exact), apply, export again (the edited document); the secret never leaves the server", async () => {
  const file = join(dir, "fleet.yaml");
  writeFileSync(file, FLEET);
  const first = await run(["config", "apply", file]);
  expect(first.stderr).toBe("");
  expect(first.code).toBe(0);
  expect(first.stdout).toContain("+ repository prod\n");
  expect(first.stdout).toContain("applied: 6 created, 0 changed, 0 deleted\n");

  const exported = join(dir, "exported.yaml");
  const exp = await run(["config", "export", exported]);
  expect(exp.code).toBe(0);
  const text = readFileSync(exported, "utf8");
  // The unchanged export: nothing to do.
  expect((await run(["config", "diff", exported])).stdout).toBe("no changes\n");

  const edited = text.replace("cron_expr: 0 3 * * *", "cron_expr: 30 3 * * *");
  expect(edited).not.toBe(text);
  writeFileSync(exported, edited);
  const diff = await run(["config", "diff", exported]);
  expect(diff.code).toBe(0);
  expect(diff.stdout).toBe(
    "~ policy staging-nightly: schedules.0.cron_expr\ndry run: 0 created, 1 changed, 0 deleted if applied; nothing was changed\n",
  );
  const apply = await run(["config", "apply", exported]);
  expect(apply.stdout).toBe(
    "~ policy staging-nightly: schedules.0.cron_expr\napplied: 0 created, 1 changed, 0 deleted\n",
  );
  const again = await run(["config", "export"]);
  expect(again.code).toBe(0);
  expect(again.stdout).toBe(edited);

  // JSON files too, by extension.
  const asJson = join(dir, "fleet.json");
  expect((await run(["config", "export", asJson])).code).toBe(0);
  expect(JSON.parse(readFileSync(asJson, "utf8"))).toEqual(Bun.YAML.parse(edited) as object);
  expect((await run(["config", "diff", asJson])).stdout).toBe("no changes\n");

  const keys = await fetch(`${url}/api/v1/repositories`, { headers: { Authorization: `Bearer ${token}` } });
  expect(JSON.stringify(await keys.json())).not.toContain(SECRET);
  expect(text + edited + first.stdout + diff.stdout + apply.stdout + log).not.toContain(SECRET);
});

test("a bad document is refused naming its path and changes nothing; a missing secret names the variable", async () => {
  const before = (await run(["config", "export"])).stdout;
  const bad = join(dir, "bad.yaml");
  writeFileSync(bad, `${before.replace("kind: ntfy", "kind: ntfy\n    colour: red")}`);
  const refused = await run(["config", "apply", bad]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("the server refused the document: notification_channels.0.colour: unknown field");
  expect(refused.stderr).toContain("nothing was changed");

  writeFileSync(
    bad,
    before.replace("url: /srv/restic/prod", "url: /srv/restic/prod\n    credential: {env: RF_SECRET_UNSET}"),
  );
  const unset = await run(["config", "apply", bad]);
  expect(unset.code).toBe(1);
  expect(unset.stderr).toContain(
    "repositories.0.credential.env: RF_SECRET_UNSET is not set in the server's environment",
  );
  expect((await run(["config", "export"])).stdout).toBe(before);
});

test("clear errors: the server down, a bad token, a missing token or file", async () => {
  const down = await run(["config", "export", "--server", "http://127.0.0.1:9"]);
  expect(down.code).toBe(1);
  expect(down.stderr).toContain("cannot reach the server at http://127.0.0.1:9");

  const wrong = await run(["config", "export"], { RF_TOKEN: "rf_wrong_token" });
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toContain("refused the token (401");
  expect(wrong.stderr).not.toContain("rf_wrong_token");

  const none = await run(["config", "export"], { RF_TOKEN: "" });
  expect(none.code).toBe(2);
  expect(none.stderr).toContain("set RF_TOKEN");

  const missing = await run(["config", "diff"]);
  expect(missing.code).toBe(2);
  expect((await run(["config", "apply", join(dir, "nope.yaml")])).stderr).toContain("no file");
  expect((await run(["config", "frobnicate"])).code).toBe(2);
  const help = await run(["config", "--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain("RF_TOKEN");
  expect(help.stdout).toContain("an object it\nleaves out is deleted");
});
