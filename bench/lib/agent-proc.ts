// The real agent, compiled: enrolled with the CLI, run in the foreground like a service would.
import type { Subprocess } from "bun";
import type { Binaries } from "./build.ts";
import { stopProcess, track } from "./cleanup.ts";
import type { EventStream } from "./events.ts";
import type { Api } from "./servers.ts";

/** The restic the agent and the baseline run: RF_BENCH_RESTIC, else the one on PATH. */
export const RESTIC = process.env.RF_BENCH_RESTIC ?? Bun.which("restic") ?? "/usr/bin/restic";

export interface AgentProc {
  proc: Subprocess<"ignore", "ignore", "pipe">;
  pid: number;
  log: string[];
  stop(): Promise<void>;
}

/** `restic-fleet-agent enroll` with a fresh one-use enrollment token; returns the host id. */
export async function enrollAgent(bins: Binaries, serverUrl: string, api: Api, stateDir: string): Promise<string> {
  const tok = await api<{ token: string }>("/api/v1/enrollment-tokens", "POST", { uses: 1 });
  if (tok.status !== 201) throw new Error(`enrollment token: ${tok.status} ${JSON.stringify(tok.body)}`);
  const r = Bun.spawnSync(
    [bins.agent, "enroll", "--server", serverUrl, "--token", tok.body.token, "--state-dir", stateDir],
    { stdin: "ignore" },
  );
  const out = r.stdout.toString();
  const hostId = /host (\S+);/.exec(out)?.[1];
  if (r.exitCode !== 0 || !hostId) throw new Error(`agent enroll failed (${r.exitCode}): ${r.stderr.toString()}`);
  return hostId;
}

/** Starts `restic-fleet-agent run` and waits until the server reports the host online. */
export async function startAgent(
  bins: Binaries,
  stateDir: string,
  hostId: string,
  events: EventStream,
  env: Record<string, string> = {},
): Promise<AgentProc> {
  const from = events.seen.length;
  const log: string[] = [];
  const proc = track(
    Bun.spawn([bins.agent, "run", "--state-dir", stateDir], {
      env: { ...process.env, RF_RESTIC: RESTIC, ...env },
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    }),
  );
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) {
      log.push(decoder.decode(chunk));
      if (log.length > 200) log.splice(0, log.length - 200);
    }
  })();
  await Promise.race([
    events.until((e) => e.type === "host.updated" && e.host_id === hostId && e.online === true, from, 60_000),
    proc.exited.then((code) => {
      throw new Error(`the agent exited (${code}) before coming online:\n${log.join("")}`);
    }),
  ]);
  return { proc, pid: proc.pid, log, stop: () => stopProcess(proc) };
}
