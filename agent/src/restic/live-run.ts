import type { RequestError } from "../../../protocol/index.ts";
import type { Clock } from "../clock.ts";
import { ChildControl } from "./child-control.ts";
import type { ResticSession } from "./restic-session.ts";
import type { Redact } from "./secrets.ts";
import type { SpawnFn } from "./types.ts";

/**
 * What one browse or download (a live request, agent/src/live/live-requests.ts) needs to run
 * restic: the repository's open session, the request's cancel signal, and which snapshots it may
 * read. These runs are read-only (`--no-lock`) and run beside any job; nothing of them is kept.
 */
export interface LiveRun {
  session: ResticSession;
  /** The byte-stream door for `dump`, whose stdout is not text: the session's own spawn. */
  spawn: SpawnFn;
  clock: Clock;
  /** SIGINT, then SIGKILL after this long (child-control.ts). */
  graceMs: number;
  /** Aborted by download.cancel or when the link to the server closes. */
  signal: AbortSignal;
  redact: Redact;
  scope: SnapshotScope;
}

/** Which snapshots a request may read: `latest` of latestHost, or an id owned by one of hosts. */
export interface SnapshotScope {
  /** "latest" or a (short or full) id, as the server sent it. */
  snapshotId: string;
  /** `--host` for latest: the request's source host, else this host's restic host name. */
  latestHost: string;
  /** Whose snapshot an explicit id may be (restic ignores --host for ids): see restore-source.ts. */
  hosts: string[];
}

export type LiveResult<T> = { ok: true; value: T } | { ok: false; error: RequestError };

export const refuse = (code: RequestError["code"], message: string): { ok: false; error: RequestError } => ({
  ok: false,
  error: { code, message },
});

/**
 * A ChildControl for one restic process of the request: the request's cancel interrupts it (SIGINT,
 * then SIGKILL), and so does the caller when it has read enough. dispose() once the process ended.
 */
export function stoppable(run: LiveRun): { control: ChildControl; dispose: () => void } {
  const control = new ChildControl(run.clock, run.graceMs, () => {});
  const stop = () => control.interrupt();
  if (run.signal.aborted) control.interrupt();
  else run.signal.addEventListener("abort", stop, { once: true });
  return {
    control,
    dispose: () => {
      run.signal.removeEventListener("abort", stop);
      control.detach();
    },
  };
}
