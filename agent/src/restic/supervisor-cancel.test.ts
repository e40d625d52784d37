import { afterEach, describe, expect, test } from "bun:test";
import { FakeClock } from "../testing/fake-clock.ts";
import { FakeChild } from "../testing/fake-spawn.ts";
import { type Harness, harness, status } from "../testing/test-harness.ts";
import { ChildControl } from "./child-control.ts";

let h: Harness;
afterEach(() => h?.cleanup());

/** backup and the pre-hook are held by the test; everything else answers at once. */
function held() {
  return harness(
    (argv) => {
      if (argv[1] === "version") return { stdout: ["restic 0.14.0"] };
      if (argv[1] === "backup" || argv[0] === "/bin/sh") return "manual";
      return {};
    },
    { cancelGraceMs: 10_000 },
  );
}

describe("cancel", () => {
  test("a queued job finishes cancelled at once and never runs", async () => {
    h = held();
    h.sup.enqueue({ job_id: "run", kind: "backup", args: [h.tempDir] });
    h.sup.enqueue({ job_id: "wait", kind: "prune" });
    expect(h.sup.cancel("wait")).toBe(true);
    expect(h.sup.queued).toEqual([]);
    expect(h.rec.of("job.finished")).toMatchObject([{ job_id: "wait", status: "cancelled", exit_code: -1 }]);
    const backup = await h.spawn.waitFor("backup");
    backup.child.exit(0);
    await h.sup.idle();
    expect(h.spawn.commands.some((c) => c.startsWith("prune"))).toBe(false);
    expect(h.sup.cancel("wait")).toBe(false);
    expect(h.sup.cancel("nope")).toBe(false);
  });

  test("a running restic gets SIGINT, SIGKILL after the grace period, then restic unlock", async () => {
    h = held();
    h.sup.enqueue({ job_id: "j", kind: "backup", args: [h.tempDir] });
    const { child } = await h.spawn.waitFor("backup");
    child.onSignal = (sig) => {
      if (sig === "SIGKILL") child.exit(137); // ignores SIGINT, like a restic stuck in a syscall
    };
    child.out(status(0.2));
    await child.drained();
    expect(h.sup.cancel("j")).toBe(true);
    expect(child.signals).toEqual(["SIGINT"]);
    h.clock.advance(9_999);
    expect(child.signals).toEqual(["SIGINT"]);
    h.clock.advance(1);
    expect(child.signals).toEqual(["SIGINT", "SIGKILL"]);
    await h.sup.idle();
    expect(h.spawn.commands.slice(-1)).toEqual(["unlock"]);
    expect(h.rec.of("job.finished")).toMatchObject([{ job_id: "j", status: "cancelled", exit_code: 137 }]);
    // no reports after a cancel, and no timer left
    expect(h.rec.of("snapshots.report")).toHaveLength(0);
    expect(h.clock.pending).toBe(0);
    const events = h.rec.logLines.filter((l) => l.stream === "event").map((l) => l.payload);
    expect(events.some((e) => e.includes("SIGKILL"))).toBe(true);
  });

  test("a restic that honours SIGINT is not killed", async () => {
    h = held();
    h.sup.enqueue({ job_id: "j", kind: "backup", args: [h.tempDir] });
    const { child } = await h.spawn.waitFor("backup");
    h.sup.cancel("j");
    await h.sup.idle();
    expect(child.signals).toEqual(["SIGINT"]);
    expect(h.rec.of("job.finished")[0]).toMatchObject({ status: "cancelled", exit_code: 130 });
    expect(h.spawn.commands.at(-1)).toBe("unlock");
    h.clock.advance(60_000);
    expect(child.signals).toEqual(["SIGINT"]);
  });

  test("cancel during the pre-hook stops the hook; restic never runs, so no unlock", async () => {
    h = held();
    h.sup.enqueue({ job_id: "j", kind: "backup", spec: { paths: [h.tempDir], pre_hook: "sleep 600" } });
    const hook = await h.spawn.waitFor("sleep 600");
    h.sup.cancel("j");
    await h.sup.idle();
    expect(hook.child.signals).toEqual(["SIGINT"]);
    expect(h.spawn.commands).toEqual(["-c sleep 600"]);
    expect(h.rec.of("job.finished")[0]).toMatchObject({ status: "cancelled" });
  });

  test("stop() cancels the running and the queued jobs and waits for them", async () => {
    h = held();
    h.sup.enqueue({ job_id: "a", kind: "backup", args: [h.tempDir] });
    h.sup.enqueue({ job_id: "b", kind: "check" });
    await h.spawn.waitFor("backup");
    await h.sup.stop();
    expect(h.rec.of("job.finished").map((f) => [f.job_id, f.status])).toEqual([
      ["b", "cancelled"],
      ["a", "cancelled"],
    ]);
    h.sup.enqueue({ job_id: "c", kind: "check" });
    expect(h.rec.of("job.finished").at(-1)).toMatchObject({ job_id: "c", status: "failed" });
  });
});

describe("ChildControl", () => {
  test("on Windows a cancel is a process kill at once", async () => {
    const lines: string[] = [];
    const control = new ChildControl(new FakeClock(), 10_000, (t) => lines.push(t), "win32");
    const child = new FakeChild();
    control.attach(child);
    control.interrupt();
    expect(child.signals).toEqual(["SIGKILL"]);
    expect(await child.exited).toBe(137);
  });
});
