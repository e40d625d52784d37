import { expect, test } from "bun:test";
import { ManualClock } from "../clock.ts";
import { silentLogger } from "../log.ts";
import { openDatabase } from "../store/db.ts";
import { createStore } from "../store/store.ts";
import { domainContext } from "./deps.ts";
import { EventBus, type FleetEvent } from "./events.ts";
import { createSecretBox } from "./secrets.ts";

function setup() {
  const events = new EventBus();
  const ctx = domainContext({
    store: createStore(openDatabase(":memory:")),
    clock: new ManualClock("2026-12-01T00:00:00Z"),
    agents: { send: () => false, isConnected: () => false, isSecure: () => true, close() {} },
    events,
    secrets: createSecretBox(new Uint8Array(32)),
    log: silentLogger,
  });
  const seen: string[] = [];
  events.subscribe((e) => seen.push((e as Extract<FleetEvent, { type: "host.updated" }>).host_id));
  const ev = (id: string): FleetEvent => ({ type: "host.updated", host_id: id, online: true });
  return { ctx, events, seen, ev };
}

test("events published in a transaction leave after its commit, in order; outside one, at once", () => {
  const { ctx, events, seen, ev } = setup();
  events.publish(ev("now"));
  expect(seen).toEqual(["now"]);
  ctx.tx(() => {
    events.publish(ev("a"));
    ctx.tx(() => events.publish(ev("b")));
    expect(seen).toEqual(["now"]);
  });
  expect(seen).toEqual(["now", "a", "b"]);
});

test("a rolled-back transaction's events never leave; a failed savepoint drops only its own", () => {
  const { ctx, events, seen, ev } = setup();
  expect(() =>
    ctx.tx(() => {
      events.publish(ev("lost"));
      throw new Error("rollback");
    }),
  ).toThrow("rollback");
  expect(seen).toEqual([]);
  ctx.tx(() => {
    events.publish(ev("kept"));
    try {
      ctx.tx(() => {
        events.publish(ev("inner"));
        throw new Error("savepoint");
      });
    } catch {
      // the outer transaction goes on
    }
    events.publish(ev("after"));
  });
  expect(seen).toEqual(["kept", "after"]);
  // and the bus is back to delivering at once
  events.publish(ev("later"));
  expect(seen.at(-1)).toBe("later");
});

test("afterCommit: at once outside a transaction; inside, after the outermost commit; never for a rolled-back part", () => {
  const { ctx } = setup();
  const ran: string[] = [];
  ctx.afterCommit(() => ran.push("now"));
  expect(ran).toEqual(["now"]);
  ctx.tx(() => {
    ctx.afterCommit(() => ran.push("outer"));
    ctx.tx(() => ctx.afterCommit(() => ran.push("inner")));
    try {
      ctx.tx(() => {
        ctx.afterCommit(() => ran.push("undone"));
        throw new Error("roll this part back");
      });
    } catch {
      // The savepoint rolled back; the outer transaction goes on.
    }
    expect(ran).toEqual(["now"]);
  });
  expect(ran).toEqual(["now", "outer", "inner"]);
  expect(() =>
    ctx.tx(() => {
      ctx.afterCommit(() => ran.push("never"));
      throw new Error("roll it all back");
    }),
  ).toThrow();
  expect(ran).toEqual(["now", "outer", "inner"]);
});
