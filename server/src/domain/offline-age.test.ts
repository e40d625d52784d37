import { describe, expect, test } from "bun:test";
import { DomainError } from "./errors.ts";
import { checkMaxOfflineAge, effectiveMaxOfflineAge } from "./offline-age.ts";
import type { PolicyRow } from "./store.ts";

const policy = (id: string, over: Partial<PolicyRow>): PolicyRow => ({
  id,
  name: id,
  selector: {},
  repository_id: null,
  priority: 0,
  enabled: true,
  schedules: [],
  copy_targets: [],
  max_offline_age: null,
  created_at: "2026-12-02T00:00:00Z",
  updated_at: "2026-12-02T00:00:00Z",
  ...over,
});

describe("checkMaxOfflineAge", () => {
  test("takes jitter's durations, and 0 or off for never; null clears", () => {
    expect(checkMaxOfflineAge("36h")).toBe("36h");
    expect(checkMaxOfflineAge(" 7D ")).toBe("7d");
    expect(checkMaxOfflineAge("1d12h")).toBe("1d12h");
    expect(checkMaxOfflineAge("10m")).toBe("10m");
    expect(checkMaxOfflineAge("365d")).toBe("365d");
    expect(checkMaxOfflineAge("0")).toBe("0");
    expect(checkMaxOfflineAge("0s")).toBe("0");
    expect(checkMaxOfflineAge("off")).toBe("0");
    expect(checkMaxOfflineAge(null)).toBeNull();
  });

  test("refuses what is not a duration, or out of range, naming the field", () => {
    const refused = (value: string, field?: string) => {
      try {
        checkMaxOfflineAge(value, field);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        return { path: err.path, message: err.message };
      }
      throw new Error(`${value} was taken`);
    };
    expect(refused("a week")).toMatchObject({ path: "max_offline_age", message: expect.stringContaining("like 90m") });
    expect(refused("")).toMatchObject({ path: "max_offline_age" });
    expect(refused("-1h").path).toBe("max_offline_age");
    expect(refused("9m").message).toContain("10m to 365d");
    expect(refused("366d").message).toContain("10m to 365d");
    expect(refused("7x", "policies.0.max_offline_age").path).toBe("policies.0.max_offline_age");
  });
});

describe("effectiveMaxOfflineAge", () => {
  const host = { labels: { env: "prod" }, max_offline_age: null };

  test("the host's own value wins over every policy", () => {
    const policies = [policy("pol_a", { max_offline_age: "2d" })];
    expect(effectiveMaxOfflineAge({ ...host, max_offline_age: "0" }, policies)).toEqual({
      value: "0",
      seconds: 0,
      source: "host",
    });
  });

  test("else the first matching enabled policy that sets it, in the order policies resolve a host", () => {
    // As the store lists them: highest priority first.
    const policies = [
      policy("pol_top", { priority: 10 }),
      policy("pol_off", { priority: 9, enabled: false, max_offline_age: "1h" }),
      policy("pol_dev", { priority: 8, selector: { labels: { env: "dev" } }, max_offline_age: "2h" }),
      policy("pol_mid", { priority: 5, max_offline_age: "36h" }),
      policy("pol_low", { priority: 0, max_offline_age: "3d" }),
    ];
    expect(effectiveMaxOfflineAge(host, policies)).toEqual({
      value: "36h",
      seconds: 129_600,
      source: "policy",
      policy_id: "pol_mid",
    });
  });

  test("else 7 days", () => {
    expect(effectiveMaxOfflineAge(host, [policy("pol_a", {})])).toEqual({
      value: "7d",
      seconds: 604_800,
      source: "default",
    });
  });
});
