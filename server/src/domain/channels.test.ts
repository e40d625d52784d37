import { describe, expect, test } from "bun:test";
import {
  type AlertItem,
  CHANNEL_KINDS,
  type ChannelKind,
  type ConfigOf,
  checkChannelConfig,
  type Notification,
  nameList,
  publicConfig,
  renderText,
  SECRET_FIELDS,
} from "./channels.ts";
import { DomainError } from "./errors.ts";

/** The path a bad config is refused with. */
function pathOf(kind: string, config: unknown): string | undefined {
  try {
    checkChannelConfig(kind, config);
  } catch (e) {
    if (e instanceof DomainError && e.code === "invalid") return e.path;
    throw e;
  }
  return "(accepted)";
}

describe("checkChannelConfig", () => {
  test("accepts each kind's config as DESIGN gives it, trimmed, with its kind", () => {
    expect(checkChannelConfig("webhook", { url: " https://hooks.example.com/rf ", secret: "s3cret-s3cret" })).toEqual({
      kind: "webhook",
      url: "https://hooks.example.com/rf",
      secret: "s3cret-s3cret",
    });
    expect(checkChannelConfig("webhook", { url: "http://10.0.0.5:8080/hook" })).toEqual({
      kind: "webhook",
      url: "http://10.0.0.5:8080/hook",
    });
    expect(checkChannelConfig("ntfy", { url: "https://ntfy.sh/mytopic", token: "tk_abc" })).toEqual({
      kind: "ntfy",
      url: "https://ntfy.sh/mytopic",
      token: "tk_abc",
    });
    expect(checkChannelConfig("slack", { webhook_url: "https://hooks.slack.com/services/T0/B0/xyz" }).kind).toBe(
      "slack",
    );
    expect(checkChannelConfig("discord", { webhook_url: "https://discord.com/api/webhooks/1/abc" }).kind).toBe(
      "discord",
    );
    expect(
      checkChannelConfig("email", {
        smtp_url: "smtps://fleet:pa%40ss@smtp.example.com:465",
        from: "fleet@example.com",
        to: ["ops@example.com", " oncall+backup@example.org "],
      }),
    ).toEqual({
      kind: "email",
      smtp_url: "smtps://fleet:pa%40ss@smtp.example.com:465",
      from: "fleet@example.com",
      to: ["ops@example.com", "oncall+backup@example.org"],
    });
    expect(
      checkChannelConfig("email", { smtp_url: "smtp://localhost", from: "root@localhost", to: ["a@b"] }).kind,
    ).toBe("email");
  });

  test("each bad input names its path", () => {
    const mail = { smtp_url: "smtp://relay.example.com", from: "fleet@example.com", to: ["ops@example.com"] };
    const cases: [string, unknown, string][] = [
      ["pager", { url: "https://x" }, "kind"],
      ["", {}, "kind"],
      ["webhook", null, "config"],
      ["webhook", [], "config"],
      ["webhook", "https://x", "config"],
      ["webhook", {}, "config.url"],
      ["webhook", { url: "" }, "config.url"],
      ["webhook", { url: 42 }, "config.url"],
      ["webhook", { url: "ftp://example.com/x" }, "config.url"],
      ["webhook", { url: "javascript:alert(1)" }, "config.url"],
      ["webhook", { url: "not a url" }, "config.url"],
      ["webhook", { url: "https://user:pw@example.com/x" }, "config.url"],
      ["webhook", { url: "https://example.com/\nx" }, "config.url"],
      ["webhook", { url: `https://example.com/${"a".repeat(2048)}` }, "config.url"],
      ["webhook", { url: "https://example.com", secret: "" }, "config.secret"],
      ["webhook", { url: "https://example.com", secret: "has space" }, "config.secret"],
      ["webhook", { url: "https://example.com", secret: 7 }, "config.secret"],
      ["webhook", { url: "https://example.com", token: "x" }, "config.token"],
      ["webhook", { kind: "webhook", url: "https://example.com" }, "config.kind"],
      ["ntfy", { url: "https://ntfy.sh" }, "config.url"],
      ["ntfy", { url: "https://ntfy.sh/" }, "config.url"],
      ["ntfy", { url: "https://ntfy.sh/t", token: "a\r\nb" }, "config.token"],
      ["ntfy", { url: "https://ntfy.sh/t", secret: "x" }, "config.secret"],
      ["slack", { url: "https://hooks.slack.com/x" }, "config.url"],
      ["slack", {}, "config.webhook_url"],
      ["discord", { webhook_url: "discord.com/api/webhooks/1/x" }, "config.webhook_url"],
      ["email", { ...mail, smtp_url: "smtp:relay.example.com" }, "config.smtp_url"],
      ["email", { ...mail, smtp_url: "smtp://" }, "config.smtp_url"],
      ["email", { ...mail, smtp_url: "https://relay.example.com" }, "config.smtp_url"],
      ["email", { ...mail, smtp_url: "smtp://relay.example.com/path" }, "config.smtp_url"],
      ["email", { ...mail, smtp_url: "smtp://relay.example.com?tls=insecure" }, "config.smtp_url"],
      ["email", { ...mail, smtp_url: "smtp://:pw@relay.example.com" }, "config.smtp_url"],
      ["email", { ...mail, from: "fleet" }, "config.from"],
      ["email", { ...mail, from: "Fleet <fleet@example.com>" }, "config.from"],
      ["email", { ...mail, from: "a@b\r\nBcc: x@y" }, "config.from"],
      ["email", { ...mail, to: "ops@example.com" }, "config.to"],
      ["email", { ...mail, to: [] }, "config.to"],
      ["email", { ...mail, to: Array.from({ length: 51 }, (_, i) => `u${i}@example.com`) }, "config.to"],
      ["email", { ...mail, to: ["ops@example.com", "nope"] }, "config.to.1"],
      ["email", { ...mail, to: [3] }, "config.to.0"],
      ["email", { ...mail, cc: ["x@example.com"] }, "config.cc"],
      ["email", { smtp_url: mail.smtp_url, from: mail.from }, "config.to"],
    ];
    for (const [kind, config, path] of cases)
      expect([kind, config, pathOf(kind, config)]).toEqual([kind, config, path]);
  });

  test("the message starts with the path", () => {
    expect(() => checkChannelConfig("email", { smtp_url: "smtp://", from: "a@b", to: ["a@b"] })).toThrow(
      /^config\.smtp_url: must name a host/,
    );
  });

  test("50 recipients are allowed", () => {
    const to = Array.from({ length: 50 }, (_, i) => `u${i}@example.com`);
    expect(pathOf("email", { smtp_url: "smtp://relay", from: "a@b", to })).toBe("(accepted)");
  });
});

describe("publicConfig", () => {
  test("no secret field's value is ever returned", () => {
    const configs: { [K in ChannelKind]: ConfigOf<K> } = {
      webhook: { kind: "webhook", url: "https://hooks.example.com/rf", secret: "whsec-SECRET-1" },
      ntfy: { kind: "ntfy", url: "https://ntfy.sh/alerts", token: "tk_SECRET2" },
      slack: { kind: "slack", webhook_url: "https://hooks.slack.com/services/T0/B0/SECRET3" },
      discord: { kind: "discord", webhook_url: "https://discord.com/api/webhooks/1/SECRET4" },
      email: {
        kind: "email",
        smtp_url: "smtps://fleet:SECRET5@smtp.example.com:465",
        from: "f@example.com",
        to: ["o@example.com"],
      },
    };
    for (const kind of CHANNEL_KINDS) {
      const shown = JSON.stringify(publicConfig(configs[kind]));
      expect(shown).not.toContain("SECRET");
      for (const field of SECRET_FIELDS[kind]) {
        const value = (configs[kind] as unknown as Record<string, string>)[field] as string;
        expect(shown).not.toContain(value);
      }
    }
    expect(publicConfig(configs.webhook)).toEqual({ url: "https://hooks.example.com/rf", has_secret: true });
    expect(publicConfig("webhook", { url: "https://x.example/h" })).toEqual({
      url: "https://x.example/h",
      has_secret: false,
    });
    expect(publicConfig(configs.ntfy)).toEqual({ url: "https://ntfy.sh/alerts", has_token: true });
    expect(publicConfig(configs.slack)).toEqual({ webhook_host: "hooks.slack.com", has_webhook_url: true });
    expect(publicConfig(configs.discord)).toEqual({ webhook_host: "discord.com", has_webhook_url: true });
    expect(publicConfig(configs.email)).toEqual({
      smtp_url: "smtps://fleet@smtp.example.com:465",
      has_password: true,
      from: "f@example.com",
      to: ["o@example.com"],
    });
    expect(publicConfig("email", { smtp_url: "smtp://relay", from: "a@b", to: ["a@b"] })).toMatchObject({
      smtp_url: "smtp://relay",
      has_password: false,
    });
  });
});

const alert = (host: string, condition = "backup_failed", over: Partial<AlertItem> = {}): AlertItem => ({
  id: `al_${host}_${condition}`,
  condition,
  host_id: `h_${host}`,
  host_name: host,
  labels: { env: "prod" },
  started_at: "2026-12-01T02:00:00Z",
  resolved_at: null,
  summary: `restic backup exited 1 on ${host}`,
  ...over,
});
const note = (event: Notification["event"], alerts: AlertItem[]): Notification => ({
  event,
  alerts,
  sent_at: "2026-12-01T02:00:30Z",
});

describe("renderText", () => {
  test("one condition on many hosts names every host, with a count", () => {
    const { title, body } = renderText(note("alert.firing", [alert("web-01"), alert("web-02"), alert("db-01")]));
    expect(title).toBe("Firing: 3 hosts: backup failed — web-01, web-02, db-01");
    expect(body.split("\n")).toEqual([
      "3 hosts: backup failed — web-01, web-02, db-01",
      "• web-01: restic backup exited 1 on web-01 (since 2026-12-01T02:00:00Z)",
      "• web-02: restic backup exited 1 on web-02 (since 2026-12-01T02:00:00Z)",
      "• db-01: restic backup exited 1 on db-01 (since 2026-12-01T02:00:00Z)",
    ]);
  });

  test("plurals: 1 host, 2 hosts", () => {
    expect(renderText(note("alert.firing", [alert("db-01", "host_offline")])).title).toBe(
      "Firing: 1 host: host offline — db-01",
    );
    expect(renderText(note("alert.firing", [alert("a"), alert("b")])).body).toStartWith(
      "2 hosts: backup failed — a, b\n",
    );
  });

  test("past 20 names: the first 20, then 'and N more'; the title names 3", () => {
    const many = Array.from({ length: 25 }, (_, i) => alert(`web-${String(i + 1).padStart(2, "0")}`));
    const { title, body } = renderText(note("alert.firing", many));
    expect(title).toBe("Firing: 25 hosts: backup failed — web-01, web-02, web-03 and 22 more");
    const [head, ...lines] = body.split("\n");
    expect(head).toBe(
      `25 hosts: backup failed — ${many
        .slice(0, 20)
        .map((a) => a.host_name)
        .join(", ")} and 5 more`,
    );
    expect(lines).toHaveLength(21);
    expect(lines.at(-1)).toBe("• and 5 more");
    expect(nameList(["a", "b", "c"], 2)).toBe("a, b and 1 more");
  });

  test("several conditions: one section each, the title counts alerts and hosts", () => {
    const { title, body } = renderText(
      note("alert.firing", [alert("web-01"), alert("db-01", "host_offline"), alert("web-02"), alert("db-01")]),
    );
    expect(title).toBe("Firing: 4 alerts on 3 hosts — backup failed, host offline");
    const sections = body.split("\n\n");
    expect(sections).toHaveLength(2);
    expect(sections[0]).toStartWith("3 hosts: backup failed — web-01, web-02, db-01\n");
    expect(sections[1]).toStartWith("1 host: host offline — db-01\n");
  });

  test("resolved says so", () => {
    const { title, body } = renderText(
      note("alert.resolved", [alert("web-01", "backup_stale", { resolved_at: "2026-12-01T03:00:00Z" })]),
    );
    expect(title).toBe("Resolved: 1 host: backup stale — web-01");
    expect(body).toContain("1 host: backup stale, resolved — web-01");
    expect(body).toContain("(resolved 2026-12-01T03:00:00Z)");
  });

  test("a test message, and names and summaries flattened to one line", () => {
    expect(renderText(note("test", [])).title).toBe("Restic Fleet: test notification");
    const { body } = renderText(
      note("alert.firing", [alert("evil\r\nBcc: x", "drill_failed", { summary: "line one\nline two" })]),
    );
    expect(body).toContain("evil Bcc: x: line one line two");
    expect(body).toContain("restore drill failed");
    expect(renderText(note("alert.firing", [alert("a", "disk_full")])).title).toBe("Firing: 1 host: disk full — a");
  });
});
