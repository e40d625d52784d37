// The messages between the bench (parent) and its simulated-agent processes (children), over
// Bun's IPC channel. Each request carries `req`; the child answers with `re`.

export interface SimAgentSpec {
  id: string;
  token: string;
  scheduleId: string;
  /** The schedules its fires go round (dispatch: one per fire, so none is merged); else scheduleId. */
  scheduleIds?: string[];
  jobId?: string;
}

/** fleet: the real server (hello → config.update + schedule.set → schedule.ack). bare: the baseline. */
export type SimMode = "fleet" | "bare";

export type ToSim =
  | {
      op: "connect";
      req: number;
      url: string;
      agents: SimAgentSpec[];
      mode: SimMode;
      heartbeatMs: number;
      /** Handshakes in flight at once during the first ramp-up. */
      concurrency: number;
      timeoutMs: number;
      /** The server's certificate (PEM) to trust, for a wss:// server with its own certificate. */
      ca?: string;
      /** Answer schedule.set with schedule.ack in bare mode too (so both sides send the same frames). */
      ackBare?: boolean;
    }
  | {
      /**
       * Enrolls `count` new agents over HTTP (POST /api/v1/agent/enroll with one enrollment
       * token), spread evenly over `spreadMs`, each connecting as soon as it has its agent token;
       * resolves once all have a schedule.set carrying `watchCron` (or the timeout).
       */
      op: "enroll";
      req: number;
      url: string;
      token: string;
      count: number;
      spreadMs: number;
      hostnamePrefix: string;
      mode: SimMode;
      heartbeatMs: number;
      watchCron: string;
      timeoutMs: number;
      ackBare?: boolean;
      ca?: string;
    }
  /** From now on, each agent notes when the first schedule.set carrying `cron` (as a cron_expr) arrives. */
  | { op: "watch"; req: number; cron: string }
  | { op: "watched"; req: number }
  | { op: "fire"; req: number; ratePerSec: number; durationMs: number; drainMs: number }
  | { op: "logs"; req: number; frames: number; lines: number; window: number; timeoutMs: number }
  | { op: "mark"; req: number }
  | { op: "status"; req: number }
  | { op: "close"; req: number };

export type FromSim = { re: number; ok: true; result: unknown } | { re: number; ok: false; error: string };

export interface SimStatus {
  agents: number;
  /** Agents whose current connection finished its handshake (schedule.set received). */
  ready: number;
  /** Ready agents whose handshake happened after the last `mark`. */
  sinceMark: number;
  handshakes: number;
  /** hello sent, then the connection closed (or 30 s passed) before schedule.set. */
  lostHandshakes: number;
  /** Connection attempts that never opened (server down, refused). */
  connectFailures: number;
  /** Ready connections closed by the other side. */
  closes: number;
  /** Agents that got a schedule.set carrying the watched cron (see `watch`). */
  watched: number;
  errors: Record<string, number>;
}

export const emptySimStatus = (): SimStatus => ({
  agents: 0,
  ready: 0,
  sinceMark: 0,
  handshakes: 0,
  lostHandshakes: 0,
  connectFailures: 0,
  closes: 0,
  watched: 0,
  errors: {},
});

export interface ConnectResult {
  status: SimStatus;
  ms: number;
}

export interface FireResult {
  sent: number;
  received: number;
  /** ms from sending schedule.fire (or echo) to receiving command.run (or the echo). */
  latencies: number[];
  jobIds: string[];
  unmatched: number;
  pendingAtEnd: number;
  errors: Record<string, number>;
}

/** Times are epoch milliseconds (performance.timeOrigin + performance.now()), comparable across processes. */
export interface SetArrival {
  /** The agent's host id (its spec's id, or the one enrollment gave it). */
  id: string;
  /** When the first schedule.set carrying the watched cron arrived (the ack is sent right after); null: none yet. */
  at: number | null;
  version: number | null;
  /** Length of that frame's text. */
  bytes: number | null;
}

export interface EnrolledArrival extends SetArrival {
  /** The enroll request was sent / answered. */
  enrollAt: number;
  enrolledAt: number;
  /** The WebSocket opened and hello was sent. */
  helloAt: number | null;
}

export interface EnrollResult {
  agents: EnrolledArrival[];
  /** Enroll requests that failed, by reason. */
  failures: Record<string, number>;
  status: SimStatus;
}

export interface LogsResult {
  frames: number;
  lines: number;
  ackedFrames: number;
  ms: number;
  errors: Record<string, number>;
}

/** A restic `backup --json` status line, as the agent forwards it in job.log (about 250 bytes). */
export function logPayload(i: number): string {
  return JSON.stringify({
    message_type: "status",
    seconds_elapsed: i,
    percent_done: Math.min(1, i / 1000),
    total_files: 20_000,
    files_done: i * 20,
    total_bytes: 524_288_000,
    bytes_done: i * 524_288,
    current_files: [`/srv/data/dir-${String(i % 200).padStart(3, "0")}/file-${String(i).padStart(5, "0")}.bin`],
  });
}
