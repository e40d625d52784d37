// How eagerly JavaScriptCore compiles the agent's code: reluctantly while idle, normally during jobs.

/**
 * The tier-up scale while no job runs: JavaScriptCore waits 100× longer before it JIT-compiles a
 * function. An idle agent only runs a heartbeat every 30 s and a few cron computations, and
 * compiling those (croner's loops above all) cost ~6 MB of RSS for nothing: the compiled agent,
 * idle with 50 schedules, went from 54 to 48 MB (1,000 gave the same, 10 about half of it). The
 * build bakes it in (scripts/build-binaries.ts, `compile.jitPolicy`): set at run time instead, the
 * start-up code is compiled before it applies, and it gave 51 MB.
 */
export const IDLE_JIT_POLICY = 100;
/** During a job: JavaScriptCore's normal policy, so parsing restic's output gets compiled. */
export const WORK_JIT_POLICY = 1;

export type SetJitPolicy = (scale: number) => void;

/** Bun.unsafe.setJITPolicy (Bun 1.4+); a no-op on a runtime without it. */
export const bunJitPolicy: SetJitPolicy = (scale) => {
  (Bun.unsafe as { setJITPolicy?: SetJitPolicy }).setJITPolicy?.(scale);
};
