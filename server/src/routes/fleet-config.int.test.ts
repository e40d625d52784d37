import { afterEach, beforeEach, expect, test } from "bun:test";
import { startTestServer, TestAgent, type TestServer } from "../testing/harness.ts";

// Config as code over the real server (DESIGN §8.3): export, edit, dry run, apply, export again;
// a bad document changes nothing; secrets come from the server's environment and never leave it.

let t: TestServer;
const agents: TestAgent[] = [];
beforeEach(async () => {
  t = await startTestServer();
});
afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  await t.close();
});

const PROD_PASSWORD = "prod-pw-7c1f9e0a-never-shown";
const WEBHOOK_SECRET = "whsec-2b8d4f61-never-shown";
process.env.RF_SECRET_TEST_PROD_PASSWORD = PROD_PASSWORD;
process.env.RF_SECRET_TEST_WEBHOOK = WEBHOOK_SECRET;
process.env.RF_SECRET_TEST_ROTATED = "prod-pw-rotated-3e5a";

/** Two environments: a shared prod repository, a per-host staging template, their policies, one rule. */
const FLEET = `
version: 1
repositories:
  - name: prod
    url: /srv/restic/prod
    password: {env: RF_SECRET_TEST_PROD_PASSWORD}
    auto_init: true
  - name: staging
    url: /srv/restic/staging/{host}
    auto_init: true
policies:
  - name: prod-nightly
    selector: {labels: {env: prod}}
    repository: prod
    priority: 10
    schedules:
      - {kind: backup, cron_expr: "0 2 * * *", jitter: 30m, paths: [/etc, /srv], tags: [nightly]}
      - {kind: forget, cron_expr: "0 4 * * *", retention_policy: {keep_daily: 7, keep_weekly: 4}}
  - name: staging-nightly
    selector: {labels: {env: staging}}
    repository: staging
    schedules:
      - {kind: backup, cron_expr: "30 1 * * *", paths: [/srv]}
notification_channels:
  - name: ops-webhook
    kind: webhook
    config: {url: "https://hooks.example.com/restic", secret: {env: RF_SECRET_TEST_WEBHOOK}}
alert_rules:
  - name: prod-backups
    selector: {labels: {env: prod}}
    conditions: [backup_failed, backup_stale, host_offline]
    channels: [ops-webhook]
    offline_after: 2h
`;

/** FLEET with an offsite repository (a template) that the prod policy copies to. */
const WITH_COPIES = FLEET.replace(
  "  - name: staging\n",
  "  - name: offsite\n    url: /srv/restic/offsite/{host}\n    auto_init: true\n  - name: staging\n",
).replace(
  "    priority: 10\n",
  "    priority: 10\n    copy_targets:\n" +
    '      - {repository: offsite, retention_policy: {keep_daily: 30}, prune: true, schedule: "0 3 * * *"}\n',
);

const put = (body: string, opts: { dry?: boolean; yaml?: boolean; token?: string } = {}) =>
  t
    .api(`/api/v1/fleet-config${opts.dry ? "?dry_run=1" : ""}`, {
      method: "PUT",
      body,
      headers: { "Content-Type": opts.yaml === false ? "application/json" : "application/yaml" },
      ...(opts.token ? { token: opts.token } : {}),
    })
    .then(async (r) => ({ status: r.status, text: await r.text() }));
const exported = async () => (await t.json("/api/v1/fleet-config")).body;
const auditCount = async () => (await t.json("/api/v1/audit-log?limit=500")).body.items.length as number;

test("export, apply unchanged (empty diff), edit, dry run (the exact edit), apply, export again (the edit)", async () => {
  const first = await put(FLEET);
  expect(first.status).toBe(200);
  const created = JSON.parse(first.text);
  expect(created.created).toEqual([
    { type: "repository", name: "prod" },
    { type: "repository", name: "staging" },
    { type: "notification_channel", name: "ops-webhook" },
    { type: "policy", name: "prod-nightly" },
    { type: "policy", name: "staging-nightly" },
    { type: "alert_rule", name: "prod-backups" },
  ]);

  const doc = await exported();
  expect(doc.repositories[0]).toEqual({ name: "prod", url: "/srv/restic/prod", auto_init: true });
  expect(doc.policies[0].schedules[0]).toMatchObject({ cron_expr: "0 2 * * *", jitter: "30m" });
  expect(doc.policies[0]).not.toHaveProperty("copy_targets"); // none: left out
  expect(doc.policies[0].schedules[1]).toEqual({
    kind: "forget",
    cron_expr: "0 4 * * *",
    retention_policy: { keep_daily: 7, keep_weekly: 4 },
    enabled: true,
  });
  expect(doc.notification_channels[0].config).toEqual({ url: "https://hooks.example.com/restic" });
  expect(doc.alert_rules[0]).toMatchObject({ channels: ["ops-webhook"], offline_after: "2h" });

  // The export applied as it is: nothing to do, and nothing written.
  const audits = await auditCount();
  const again = JSON.parse((await put(JSON.stringify(doc), { yaml: false })).text);
  expect(again).toEqual({ dry_run: false, created: [], changed: [], deleted: [], warnings: [] });
  expect(await auditCount()).toBe(audits + 1); // only the apply's own entry

  // The edit: one cron and jitter, a copy target to a new repository, a rule's conditions, the
  // staging policy gone, a new channel.
  const edited = structuredClone(doc);
  edited.policies[0].schedules[0].cron_expr = "15 2 * * *";
  edited.policies[0].schedules[0].jitter = "1h30m";
  edited.repositories.unshift({ name: "offsite", url: "/srv/restic/offsite/{host}", auto_init: true });
  edited.policies[0].copy_targets = [{ repository: "offsite", retention_policy: { keep_daily: 30 }, prune: true }];
  edited.alert_rules[0].conditions = ["backup_failed"];
  edited.policies = edited.policies.filter((p: { name: string }) => p.name !== "staging-nightly");
  edited.notification_channels.push({ name: "ntfy-oncall", kind: "ntfy", config: { url: "https://ntfy.sh/oncall" } });
  const dry = await put(JSON.stringify(edited), { dry: true, yaml: false });
  expect(dry.status).toBe(200);
  const expected = {
    created: [
      { type: "repository", name: "offsite" },
      { type: "notification_channel", name: "ntfy-oncall" },
    ],
    changed: [
      { type: "policy", name: "prod-nightly", fields: ["copy_targets", "schedules.0.cron_expr", "schedules.0.jitter"] },
      { type: "alert_rule", name: "prod-backups", fields: ["conditions"] },
    ],
    deleted: [{ type: "policy", name: "staging-nightly" }],
    warnings: [],
  };
  expect(JSON.parse(dry.text)).toEqual({ dry_run: true, ...expected });
  expect(await exported()).toEqual(doc); // the dry run changed nothing

  const applied = await put(JSON.stringify(edited), { yaml: false });
  expect(JSON.parse(applied.text)).toEqual({ dry_run: false, ...expected });
  const after = await exported();
  edited.notification_channels.sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name));
  expect(after).toEqual(edited);

  const entry = (await t.json("/api/v1/audit-log?limit=1")).body.items[0];
  expect(entry).toMatchObject({ action: "fleet_config.apply", detail: { created: 2, changed: 2, deleted: 1 } });

  // The copy target as the policy's API shows it: the repository by id.
  const offsite = (await t.json("/api/v1/repositories")).body.items.find((r: { name: string }) => r.name === "offsite");
  const policy = (await t.json("/api/v1/policies")).body.items.find((p: { name: string }) => p.name === "prod-nightly");
  expect(policy.copy_targets).toEqual([
    { repository_id: offsite.id, retention_policy: { keep_daily: 30 }, prune: true, schedule: null },
  ]);

  // A changed copy target is the field copy_targets; its own schedule round-trips.
  after.policies[0].copy_targets = [{ repository: "offsite", schedule: "0 3 * * *" }];
  const retimed = JSON.parse((await put(JSON.stringify(after), { yaml: false })).text);
  expect(retimed.changed).toEqual([{ type: "policy", name: "prod-nightly", fields: ["copy_targets"] }]);
  expect(await exported()).toEqual(after);

  // The copy target and its repository dropped together: the policy lets go of it first.
  const dropped = structuredClone(after);
  delete dropped.policies[0].copy_targets;
  dropped.repositories = dropped.repositories.filter((r: { name: string }) => r.name !== "offsite");
  const gone = JSON.parse((await put(JSON.stringify(dropped), { yaml: false })).text);
  expect(gone).toMatchObject({
    changed: [{ type: "policy", name: "prod-nightly", fields: ["copy_targets"] }],
    deleted: [{ type: "repository", name: "offsite" }],
  });
  expect(await exported()).toEqual(dropped);
});

test("YAML in and out: Accept or ?format=yaml, and the YAML export applies with an empty diff", async () => {
  expect((await put(WITH_COPIES)).status).toBe(200);
  const viaAccept = await t.api("/api/v1/fleet-config", { headers: { Accept: "application/yaml" } });
  expect(viaAccept.headers.get("content-type")).toStartWith("application/yaml");
  const yaml = await viaAccept.text();
  expect(await (await t.api("/api/v1/fleet-config?format=yaml")).text()).toBe(yaml);
  expect(Bun.YAML.parse(yaml)).toEqual(await exported());
  expect((Bun.YAML.parse(yaml) as { policies: object[] }).policies[0]).toMatchObject({
    copy_targets: [{ repository: "offsite", retention_policy: { keep_daily: 30 }, prune: true, schedule: "0 3 * * *" }],
    schedules: [{ jitter: "30m" }, {}],
  });
  expect(JSON.parse((await put(yaml, { dry: true })).text)).toMatchObject({ created: [], changed: [], deleted: [] });
  expect((await t.json("/api/v1/fleet-config?format=xml")).status).toBe(400);
});

test("a bad document changes nothing: the first problem is named by its path", async () => {
  expect((await put(FLEET)).status).toBe(200);
  const before = await exported();
  const audits = await auditCount();
  const doc = structuredClone(before);
  doc.repositories.push({
    name: "archive",
    url: "/srv/restic/archive",
    password: { env: "RF_SECRET_TEST_PROD_PASSWORD" },
  });
  doc.policies[0].priority = 99;
  const cases: [unknown, string, RegExp][] = [
    [
      {
        ...doc,
        policies: [doc.policies[0], { ...doc.policies[1], schedules: [{ kind: "backup", cron_expr: "61 * * * *" }] }],
      },
      "policies.1.schedules.0.cron_expr",
      /cron/,
    ],
    [{ ...doc, policies: [{ ...doc.policies[0], colour: "red" }] }, "policies.0.colour", /unknown field/],
    [
      { ...doc, policies: [doc.policies[0], { ...doc.policies[1], max_offline_age: "a week" }] },
      "policies.1.max_offline_age",
      /like 90m, 36h or 7d/,
    ],
    [
      { ...doc, repositories: [...doc.repositories, { name: "PROD", url: "/x" }] },
      "repositories.3.name",
      /listed twice/,
    ],
    [
      { ...doc, policies: [{ ...doc.policies[0], repository: "nowhere" }] },
      "policies.0.repository",
      /no repository "nowhere"/,
    ],
    ...copyTargetCases(doc),
    [
      {
        ...doc,
        policies: [
          {
            ...doc.policies[0],
            schedules: [{ kind: "backup", cron_expr: "0 2 * * *", jitter: "soon", paths: ["/etc"] }],
          },
        ],
      },
      "policies.0.schedules.0.jitter",
      /duration/,
    ],
    [
      { ...doc, alert_rules: [{ ...doc.alert_rules[0], channels: ["pager"] }] },
      "alert_rules.0.channels.0",
      /no notification channel/,
    ],
    [
      {
        ...doc,
        repositories: [...doc.repositories, { name: "x", url: "/x", password: { env: "RF_SECRET_TEST_UNSET" } }],
      },
      "repositories.3.password.env",
      /RF_SECRET_TEST_UNSET is not set/,
    ],
    [
      { ...doc, repositories: [...doc.repositories, { name: "x", url: "/x", password: { env: "HOME" } }] },
      "repositories.3.password.env",
      /starting with RF_SECRET_/,
    ],
    [
      { ...doc, repositories: [...doc.repositories, { name: "x", url: "/x" }] },
      "repositories.3.password",
      /needs a password/,
    ],
    [
      {
        ...doc,
        notification_channels: [
          { ...doc.notification_channels[0], config: { url: "https://h.example.com", secret: "plain" } },
        ],
      },
      "notification_channels.0.config.secret",
      /is a secret/,
    ],
    [{ ...doc, alert_rules: undefined }, "alert_rules", /is required/],
    [{ ...doc, version: 2 }, "version", /must be 1/],
  ];
  for (const [body, path, message] of cases) {
    const res = await put(JSON.stringify(body), { yaml: false });
    expect(res.status, path).toBe(400);
    const { error } = JSON.parse(res.text);
    expect(error.path, path).toBe(path);
    expect(error.message, path).toMatch(message);
    expect(error.message.startsWith(`${path}: `), error.message).toBe(true);
    expect(error.message, "the path once, in full").not.toMatch(/^[\w.]+: [\w.]+: /);
  }
  const yaml = await put("version: 1\nrepositories: [\n");
  expect(yaml.status).toBe(400);
  expect(JSON.parse(yaml.text).error.message).toMatch(/not valid YAML/);
  expect(await exported()).toEqual(before);
  expect(await auditCount()).toBe(audits);
});

/** A policy's copy targets that the document refuses, each with its path (`doc` has archive). */
function copyTargetCases(doc: { policies: object[] }): [unknown, string, RegExp][] {
  const withTargets = (copy_targets: unknown[]) => ({ ...doc, policies: [{ ...doc.policies[0], copy_targets }] });
  return [
    [withTargets([{ repository: "nowhere" }]), "policies.0.copy_targets.0.repository", /no repository "nowhere"/],
    [withTargets([{ repository: "archive", keep: 1 }]), "policies.0.copy_targets.0.keep", /unknown field/],
    [withTargets([{ repository: "prod" }]), "policies.0.copy_targets.0.repository", /the policy's own repository/],
    [
      withTargets([{ repository: "archive" }, { repository: "ARCHIVE" }]),
      "policies.0.copy_targets.1.repository",
      /listed twice/,
    ],
    [
      withTargets([{ repository: "archive", retention_policy: {} }]),
      "policies.0.copy_targets.0.retention_policy",
      /keeps nothing/,
    ],
    [
      withTargets([{ repository: "archive", retention_policy: { keep_daily: 3, keep_all: true } }]),
      "policies.0.copy_targets.0.retention_policy.keep_all",
      /unknown field/,
    ],
    [withTargets([{ repository: "archive", schedule: "every hour" }]), "policies.0.copy_targets.0.schedule", /./],
    [withTargets([{ repository: "archive", prune: "yes" }]), "policies.0.copy_targets.0.prune", /./],
    [{ ...doc, policies: [{ ...doc.policies[0], copy_targets: {} }] }, "policies.0.copy_targets", /must be a list/],
  ];
}

test("a repository a host's own copy targets use is not deleted (409): nothing changes; one the document names is kept", async () => {
  expect((await put(WITH_COPIES)).status).toBe(200);
  const tok = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: { uses: 1, labels: { env: "prod" } } });
  const enrolled = await t.json("/api/v1/agent/enroll", {
    method: "POST",
    body: { token: tok.body.token, hostname: "web-01" },
    token: null,
  });
  expect(enrolled.status).toBe(201);
  const hostId = enrolled.body.host_id;
  const repos = (await t.json("/api/v1/repositories")).body.items as { id: string; name: string }[];
  const offsite = repos.find((r) => r.name === "offsite")?.id;
  const archive = await t.json("/api/v1/repositories", {
    method: "POST",
    body: { name: "archive", url: "/srv/restic/archive", password: "archive-pw" },
  });
  const own = await t.json(`/api/v1/hosts/${hostId}`, {
    method: "PATCH",
    body: { copy_targets: [{ repository_id: archive.body.id }, { repository_id: offsite }] },
  });
  expect(own.status).toBe(200);
  const before = await exported();
  const audits = await auditCount();

  // The document drops archive, which the host's own list still names: refused, naming both.
  const doc = structuredClone(before);
  doc.repositories = doc.repositories.filter((r: { name: string }) => r.name !== "archive");
  const refused = await put(JSON.stringify(doc), { yaml: false });
  expect(refused.status).toBe(409);
  const { error } = JSON.parse(refused.text);
  expect(error.message).toMatch(/^deleting repository "archive": repository "archive" is in use by host web-01/);
  expect(await exported()).toEqual(before);
  expect(await auditCount()).toBe(audits);

  // Dropping offsite while the policy (and the host) still name it: the document's own reference is found first.
  const named = structuredClone(before);
  named.repositories = named.repositories.filter((r: { name: string }) => r.name !== "offsite");
  const res = await put(JSON.stringify(named), { yaml: false });
  expect(res.status).toBe(400);
  expect(JSON.parse(res.text).error.path).toBe("policies.0.copy_targets.0.repository");

  // The host lets go of archive: the same document applies, and the host keeps offsite.
  await t.json(`/api/v1/hosts/${hostId}`, { method: "PATCH", body: { copy_targets: [{ repository_id: offsite }] } });
  const applied = JSON.parse((await put(JSON.stringify(doc), { yaml: false })).text);
  expect(applied).toMatchObject({ changed: [], deleted: [{ type: "repository", name: "archive" }] });
  expect((await t.json(`/api/v1/hosts/${hostId}`)).status).toBe(200);
});

test("secrets: read from the environment, never answered; left out they stay, rotated they change", async () => {
  const tok = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: { uses: 1, labels: { env: "prod" } } });
  const enrolled = await t.json("/api/v1/agent/enroll", {
    method: "POST",
    body: { token: tok.body.token, hostname: "db-01" },
    token: null,
  });
  const agent = await TestAgent.connect(t.url, enrolled.body.agent_token);
  agents.push(agent);
  await agent.hello(8, { hostname: "db-01", resticHost: "db-01" });

  // A dry run sends nothing to the host; the apply sends it the password from the environment.
  const sets = agent.of("schedule.set").length;
  const dry = await put(FLEET, { dry: true });
  expect(dry.status).toBe(200);
  // Everything sent before the answer to a frame sent now has arrived: a signal, not a sleep.
  const errors = agent.of("error").length;
  agent.sendRaw("{}");
  await agent.until(() => agent.of("error").length > errors, "the error answer");
  expect(agent.of("config.update").some((m) => m.payload.repo_password)).toBe(false);
  expect(agent.of("schedule.set")).toHaveLength(sets);
  const applied = await put(FLEET);
  expect(applied.status).toBe(200);
  const update = await agent.until(() => agent.of("config.update").find((m) => m.payload.repo_password));
  expect(update.payload.repo_password).toBe(PROD_PASSWORD);
  // And, after the commit, its schedules from the policy the document made.
  const set = await agent.until(() =>
    agent.of("schedule.set").find((m) => m.payload.schedules.some((e) => e.cron_expr === "0 2 * * *")),
  );
  expect(set.payload.schedules.map((e) => e.kind).sort()).toEqual(["backup", "forget"]);

  // Left out of the document (as the export leaves it out), the secret stays.
  const doc = await exported();
  expect(JSON.parse((await put(JSON.stringify(doc), { yaml: false })).text).changed).toEqual([]);
  const keys = await t.json(`/api/v1/repositories/${(await t.json("/api/v1/repositories")).body.items[0].id}/keys`);
  expect(keys.body.password).toBe(PROD_PASSWORD);

  // Another variable with another value: the diff names the secret field, never its value.
  const rotated = FLEET.replace("RF_SECRET_TEST_PROD_PASSWORD", "RF_SECRET_TEST_ROTATED");
  const diff = JSON.parse((await put(rotated, { dry: true })).text);
  expect(diff.changed).toEqual([{ type: "repository", name: "prod", fields: ["password"] }]);
  expect(JSON.parse((await put(FLEET, { dry: true })).text).changed).toEqual([]); // same value: no change

  // A secret the channel's own check refuses: the error names the field, never the value.
  process.env.RF_SECRET_TEST_BAD_SLACK = "ftp://not-a-webhook/secret-9f8e7d";
  const badSlack = await put(
    FLEET.replace(
      "alert_rules:\n",
      "  - name: chat\n    kind: slack\n    config: {webhook_url: {env: RF_SECRET_TEST_BAD_SLACK}}\nalert_rules:\n",
    ),
  );
  expect(badSlack.status).toBe(400);
  expect(JSON.parse(badSlack.text).error.path).toBe("notification_channels.1.config.webhook_url");

  const everything = [
    badSlack.text,
    dry.text,
    applied.text,
    JSON.stringify(diff),
    JSON.stringify(doc),
    await (await t.api("/api/v1/fleet-config?format=yaml")).text(),
    JSON.stringify((await t.json("/api/v1/audit-log?limit=500")).body),
    JSON.stringify((await t.json("/api/v1/notification-channels")).body),
    JSON.stringify((await t.json("/api/v1/repositories")).body),
  ].join("\n");
  expect(everything).not.toContain(PROD_PASSWORD);
  expect(everything).not.toContain(WEBHOOK_SECRET);
  expect(everything).not.toContain("prod-pw-rotated");
  expect(everything).not.toContain("secret-9f8e7d");
});

test("a viewer may export but not apply; no token is a 401", async () => {
  expect((await put(FLEET)).status).toBe(200);
  const user = await t.server.domain.auth.createUser("watcher", "watcher-password", "viewer", null);
  const viewer = t.server.domain.auth.createApiToken(
    { user_id: user.id, username: "watcher", role: "viewer" },
    "t",
  ).token;
  const got = await t.json("/api/v1/fleet-config", { token: viewer });
  expect(got.status).toBe(200);
  expect(got.body.policies).toHaveLength(2);
  const refused = await put(FLEET, { dry: true, token: viewer });
  expect(refused.status).toBe(403);
  expect((await t.json("/api/v1/fleet-config", { token: null })).status).toBe(401);
});

test("a rename is a delete and a create; deleting a template repository warns about its generated passwords", async () => {
  expect((await put(FLEET)).status).toBe(200);
  const tok = await t.json("/api/v1/enrollment-tokens", {
    method: "POST",
    body: { uses: 1, labels: { env: "staging" } },
  });
  const enrolled = await t.json("/api/v1/agent/enroll", {
    method: "POST",
    body: { token: tok.body.token, hostname: "stage-01" },
    token: null,
  });
  expect(enrolled.status).toBe(201);
  const doc = await exported();
  doc.repositories = doc.repositories.filter((r: { name: string }) => r.name !== "staging");
  doc.policies[1].repository = "prod";
  doc.policies[0].name = "prod-main";
  const diff = JSON.parse((await put(JSON.stringify(doc), { dry: true, yaml: false })).text);
  expect(diff.created).toEqual([{ type: "policy", name: "prod-main" }]);
  expect(diff.changed).toEqual([{ type: "policy", name: "staging-nightly", fields: ["repository"] }]);
  expect(diff.deleted).toEqual([
    { type: "repository", name: "staging" },
    { type: "policy", name: "prod-nightly" },
  ]);
  expect(diff.warnings).toHaveLength(1);
  expect(diff.warnings[0]).toMatch(/repository "staging": deleting it deletes the 1 password\(s\) generated/);
});

test("the complete example of docs/fleet-config.md applies, and its export applies with an empty diff", async () => {
  const page = await Bun.file(`${import.meta.dir}/../../../docs/fleet-config.md`).text();
  const example = page
    .split("```yaml\n")
    .find((block) => block.startsWith("# fleet.yaml"))
    ?.split("```")[0];
  expect(example).toBeDefined();
  for (const name of ["PROD_RESTIC_PASSWORD", "PROD_AWS_SECRET_ACCESS_KEY", "ONCALL_WEBHOOK_SECRET"]) {
    process.env[`RF_SECRET_${name}`] = `example-${name.toLowerCase()}`;
  }
  const res = await put(example as string);
  expect(res.text).toContain('"created"');
  expect(res.status).toBe(200);
  expect(JSON.parse(res.text).created).toHaveLength(9);
  const prod = (await exported()).policies.find((p: { name: string }) => p.name === "prod-nightly");
  expect(prod.copy_targets).toEqual([
    { repository: "offsite", retention_policy: { keep_daily: 14, keep_monthly: 3 }, prune: true },
  ]);
  expect(prod.schedules[0].jitter).toBe("30m");
  expect(prod.max_offline_age).toBe("3d");
  const diff = JSON.parse((await put(JSON.stringify(await exported()), { dry: true, yaml: false })).text);
  expect(diff).toMatchObject({ created: [], changed: [], deleted: [] });
});

test("made through the API: the export hides a URL's userinfo and secret variables, and applies back unchanged", async () => {
  const made = await t.json("/api/v1/repositories", {
    method: "POST",
    body: {
      name: "rest",
      url: "rest:https://backup:rest-pw-61c0@rest.example.com/fleet",
      password: "repo-pw-0b9a",
      env: { RESTIC_REST_PASSWORD: "rest-env-pw-77d1" },
    },
  });
  expect(made.status).toBe(201);
  const s3 = await t.json("/api/v1/repositories", {
    method: "POST",
    body: {
      name: "s3",
      url: "s3:https://s3.example.com/bucket",
      password: "s3-pw-5e21",
      env: {
        AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "aws-secret-4c3b",
        AWS_DEFAULT_REGION: "eu-west-1",
      },
    },
  });
  expect(s3.status).toBe(201);
  const doc = await exported();
  expect(doc.repositories).toEqual([
    { name: "rest", url: "rest:https://***@rest.example.com/fleet", auto_init: false },
    {
      name: "s3",
      url: "s3:https://s3.example.com/bucket",
      auto_init: false,
      env: { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_DEFAULT_REGION: "eu-west-1" },
    },
  ]);
  const text = JSON.stringify(doc);
  for (const secret of ["rest-pw-61c0", "repo-pw-0b9a", "rest-env-pw-77d1", "aws-secret-4c3b"]) {
    expect(text).not.toContain(secret);
  }
  expect(JSON.parse((await put(text, { yaml: false })).text)).toMatchObject({ changed: [], created: [], deleted: [] });
  const keys = await t.json(`/api/v1/repositories/${made.body.id}/keys`);
  expect(keys.body).toMatchObject({
    url: "rest:https://backup:rest-pw-61c0@rest.example.com/fleet",
    password: "repo-pw-0b9a",
    env: { RESTIC_REST_PASSWORD: "rest-env-pw-77d1" },
  });

  // A plain variable left out goes; a secret one given as a value is refused, by reference it is set.
  process.env.RF_SECRET_TEST_AWS = "aws-secret-rotated-9d8c";
  doc.repositories[1].env = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "inline" };
  const inline = await put(JSON.stringify(doc), { yaml: false });
  expect(JSON.parse(inline.text).error.path).toBe("repositories.1.env.AWS_SECRET_ACCESS_KEY");
  doc.repositories[1].env.AWS_SECRET_ACCESS_KEY = { env: "RF_SECRET_TEST_AWS" };
  const diff = JSON.parse((await put(JSON.stringify(doc), { yaml: false })).text);
  expect(diff.changed).toEqual([
    { type: "repository", name: "s3", fields: ["env.AWS_DEFAULT_REGION", "env.AWS_SECRET_ACCESS_KEY"] },
  ]);
  const s3keys = await t.json(`/api/v1/repositories/${s3.body.id}/keys`);
  expect(s3keys.body.env).toEqual({
    AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "aws-secret-rotated-9d8c",
  });
});

test("a document that would put a host into a policy conflict is refused (409) and changes nothing", async () => {
  expect((await put(FLEET)).status).toBe(200);
  const tok = await t.json("/api/v1/enrollment-tokens", { method: "POST", body: { uses: 1, labels: { env: "prod" } } });
  await t.json("/api/v1/agent/enroll", {
    method: "POST",
    body: { token: tok.body.token, hostname: "db-01" },
    token: null,
  });
  const before = await exported();
  const doc = structuredClone(before);
  doc.policies.push({ name: "prod-extra", selector: { labels: { env: "prod" } }, repository: "staging", priority: 10 });
  const res = await put(JSON.stringify(doc), { yaml: false });
  expect(res.status).toBe(409);
  const { error } = JSON.parse(res.text);
  expect(error.path).toBe("policies.2.priority");
  expect(error.message).toContain("db-01");
  expect(await exported()).toEqual(before);
});
