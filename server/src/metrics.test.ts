import { expect, test } from "bun:test";
import { join } from "node:path";
import type { FleetMetrics } from "./domain/fleet.ts";
import { Counters, escapeLabel, renderMetrics } from "./metrics.ts";

const fleet: FleetMetrics = {
  online: 1,
  offline: 1,
  jobCounts: [{ kind: "backup", status: "succeeded", n: 3 }],
  hosts: [
    {
      id: "h1",
      name: "never-01",
      online: false,
      enrolledAt: "2026-12-01T00:00:00Z",
      lastSuccessAt: null,
      health: "stale",
      lastDrill: null,
      lastFullReadAt: null,
    },
    {
      id: "h2",
      name: 'a "b"\\c\nd',
      online: true,
      enrolledAt: "2026-12-01T00:00:00Z",
      lastSuccessAt: "2026-12-02T01:00:00Z",
      health: "ok",
      lastDrill: { at: "2026-12-02T01:00:00Z", result: "failed" },
      lastFullReadAt: "2026-12-02T01:00:00Z",
    },
  ],
  health: { ok: 1, warning: 0, failed: 0, stale: 1, pending: 0, unscheduled: 0 },
  firing: [{ host_id: "h1", host_name: "never-01", condition: "backup_stale" }],
  firingByCondition: {
    backup_failed: 0,
    backup_warning: 0,
    backup_stale: 1,
    host_offline: 0,
    check_failed: 0,
    drill_failed: 0,
    copy_stale: 0,
    copy_failed: 0,
  },
};

test("label values escape backslash, double quote and line feed, and nothing else", () => {
  expect(escapeLabel('a "b"\\c\nd\té')).toBe('a \\"b\\"\\\\c\\nd\té');
});

test("every host has its per-host series; the last success stays absent for one that never had one", () => {
  const text = renderMetrics(fleet, new Counters());
  expect(text).toContain('restic_fleet_host_backup_health{host_id="h1",host="never-01",health="stale"} 1');
  expect(text).toContain('restic_fleet_host_online{host_id="h1",host="never-01"} 0');
  expect(text).toContain('restic_fleet_host_enrolled_timestamp_seconds{host_id="h1",host="never-01"} 1796083200');
  expect(text).toContain(
    'restic_fleet_last_successful_backup_timestamp_seconds{host_id="h2",host="a \\"b\\"\\\\c\\nd"} 1796173200',
  );
  expect(text).not.toContain('restic_fleet_last_successful_backup_timestamp_seconds{host_id="h1"');
  expect(text).toContain('restic_fleet_alerts_firing{host_id="h1",host="never-01",condition="backup_stale"} 1');
  expect(text).toContain('restic_fleet_alerts_firing_by_condition{condition="drill_failed"} 0');
});

test("the last drill and the last full read are per-host series, absent for a host without one", () => {
  const text = renderMetrics(fleet, new Counters());
  const h2 = 'host_id="h2",host="a \\"b\\"\\\\c\\nd"';
  expect(text).toContain(`restic_fleet_last_drill_timestamp_seconds{${h2},result="failed"} 1796173200`);
  expect(text).toContain(`restic_fleet_last_full_read_timestamp_seconds{${h2}} 1796173200`);
  expect(text).not.toContain('restic_fleet_last_drill_timestamp_seconds{host_id="h1"');
  expect(text).not.toContain('restic_fleet_last_full_read_timestamp_seconds{host_id="h1"');
  expect(text).toContain('restic_fleet_jobs{kind="drill",status="failed"} 0');
});

test("docs/prometheus-alerts.yml parses and uses only metrics the server exposes", async () => {
  const file = join(import.meta.dir, "..", "..", "docs", "prometheus-alerts.yml");
  const doc = Bun.YAML.parse(await Bun.file(file).text()) as {
    groups: Array<{ name: string; rules: Array<{ alert: string; expr: string; for?: string; labels?: object }> }>;
  };
  const exposed = new Set(
    [...renderMetrics(fleet, new Counters()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string),
  );
  const rules = doc.groups.flatMap((g) => g.rules);
  expect(rules.length).toBeGreaterThanOrEqual(6);
  for (const r of rules) {
    expect(r.alert).toMatch(/^ResticFleet[A-Za-z]+$/);
    if (r.for !== undefined) expect(r.for).toMatch(/^\d+[smh]$/);
    const used = [...r.expr.matchAll(/\brestic_fleet_[a-z_]+/g)].map((m) => m[0]);
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect(exposed.has(name)).toBe(true);
  }
});
