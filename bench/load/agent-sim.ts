// A process of simulated agents: real WebSocket clients that speak the agent's side of the
// protocol (hello, schedule.ack, heartbeats, schedule.fire, command.result, job.log), reconnect
// with the agent's own backoff, and measure what they see. The bench starts several of these
// (each under the 20,000 open-files limit) and drives them over IPC (see sim-protocol.ts).
import { nextDelay, STABLE_AFTER_MS } from "../../agent/src/backoff.ts";
import {
  type ConnectResult,
  type EnrolledArrival,
  type EnrollResult,
  emptySimStatus,
  type FireResult,
  type FromSim,
  type LogsResult,
  logPayload,
  type SetArrival,
  type SimAgentSpec,
  type SimMode,
  type SimStatus,
  type ToSim,
} from "./sim-protocol.ts";

/** The agent waits for schedule.set this long before calling a handshake lost. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
const TICK_MS = 100;

/** Epoch milliseconds with sub-millisecond resolution: comparable with the bench's own clock. */
const epochNow = () => performance.timeOrigin + performance.now();

const envelope = (type: string, payload: unknown, id: string = crypto.randomUUID()) =>
  JSON.stringify({ type, id, ts: new Date().toISOString(), payload });

interface Sim {
  spec: SimAgentSpec;
  ws: WebSocket | null;
  ready: boolean;
  helloAt: number;
  openedAt: number;
  handshakes: number;
  markHandshakes: number;
  attempt: number;
  nextBeat: number;
  /** Ramp-up: this agent holds one of the `concurrency` slots until its first handshake ends. */
  slot: boolean;
  fifo: Array<{ id: string; t: number }>;
  fireSeq: number;
  logSent: number;
  outstanding: Set<string>;
  /** The first schedule.set carrying the watched cron (see `watch`). */
  watch: { at: number; version: number; bytes: number } | null;
  /** Enrolled agents: when enrollment began and ended, when hello was sent (epoch ms). */
  enrollAt: number;
  enrolledAt: number;
  helloEpoch: number | null;
}

let url = "";
/** The server's certificate to trust (wss:// with a self-signed certificate), or none. */
let ca: string | undefined;
let mode: SimMode = "fleet";
let heartbeatMs = 30_000;
/** Answer schedule.set with schedule.ack in bare mode too. */
let ackBare = false;
/** The cron_expr whose first arrival in a schedule.set each agent notes (null: none). */
let watchCron: string | null = null;
const sims: Sim[] = [];
let closing = false;
const timers = new Set<ReturnType<typeof setTimeout>>();
const status: SimStatus = emptySimStatus();

// Fire and log state, for the run in progress.
let latencies: number[] = [];
let jobIds: string[] = [];
let received = 0;
let unmatched = 0;
let onLogProgress: (() => void) | null = null;
let ackedFrames = 0;

// Ramp-up.
const queue: Sim[] = [];
let inflight = 0;
let concurrency = 100;
let onRampProgress: (() => void) | null = null;

const countError = (key: string) => {
  status.errors[key] = (status.errors[key] ?? 0) + 1;
};

function later(fn: () => void, ms: number) {
  const t = setTimeout(() => {
    timers.delete(t);
    fn();
  }, ms);
  timers.add(t);
}

function releaseSlot(s: Sim) {
  if (!s.slot) return;
  s.slot = false;
  inflight -= 1;
  pump();
  onRampProgress?.();
}

function pump() {
  while (inflight < concurrency && queue.length > 0) {
    const s = queue.shift() as Sim;
    s.slot = true;
    inflight += 1;
    open(s);
  }
}

function hello(): string {
  return envelope("hello", {
    protocol_version: 1,
    agent_version: "0.1.0-sim",
    restic_version: "0.14.0",
    hostname: "sim",
    os: "linux",
    arch: "amd64",
  });
}

function open(s: Sim) {
  if (closing) return;
  // http → ws, https → wss.
  const wsUrl = `${url.replace(/^http/, "ws")}/api/v1/agent/ws`;
  const headers = { Authorization: `Bearer ${s.spec.token}` };
  const ws = new WebSocket(wsUrl, (ca ? { headers, tls: { ca } } : { headers }) as never);
  s.ws = ws;
  s.ready = false;
  let opened = false;
  ws.onopen = () => {
    opened = true;
    s.openedAt = performance.now();
    s.helloAt = s.openedAt;
    s.helloEpoch = epochNow();
    ws.send(hello());
  };
  ws.onmessage = (e) => onMessage(s, ws, typeof e.data === "string" ? e.data : String(e.data));
  ws.onerror = () => {
    // A close event follows; it decides.
  };
  ws.onclose = (e) => {
    if (s.ws !== ws) return;
    s.ws = null;
    const wasReady = s.ready;
    s.ready = false;
    if (!opened) status.connectFailures += 1;
    else if (!wasReady) {
      status.lostHandshakes += 1;
      countError(`handshake lost (close ${e.code})`);
    } else status.closes += 1;
    // Outstanding fires on this connection will never be answered.
    s.fifo.length = 0;
    releaseSlot(s);
    if (closing) return;
    // The agent's reconnect loop (agent/src/backoff.ts): back to attempt 0 after a stable connection.
    const upFor = opened ? performance.now() - s.openedAt : 0;
    if (upFor >= STABLE_AFTER_MS) s.attempt = 0;
    const delay = nextDelay(s.attempt);
    s.attempt += 1;
    later(() => open(s), delay);
  };
}

function onMessage(s: Sim, ws: WebSocket, text: string) {
  let msg: { type?: string; id?: string; payload?: Record<string, unknown> };
  try {
    msg = JSON.parse(text);
  } catch {
    countError("invalid frame from server");
    return;
  }
  const p = msg.payload ?? {};
  switch (msg.type) {
    case "config.update":
      return;
    case "schedule.set":
      if (watchCron !== null && s.watch === null && carries(p.schedules, watchCron)) {
        s.watch = { at: epochNow(), version: Number(p.version), bytes: text.length };
      }
      if (mode === "fleet" || ackBare) {
        ws.send(envelope("schedule.ack", { version: p.version, applied_at: new Date().toISOString() }));
      }
      if (!s.ready) {
        s.ready = true;
        s.handshakes += 1;
        status.handshakes += 1;
        s.nextBeat = performance.now() + Math.random() * heartbeatMs;
        releaseSlot(s);
      }
      return;
    case "command.run":
    case "echo": {
      const now = performance.now();
      const head = s.fifo.shift();
      if (head) latencies.push(now - head.t);
      else unmatched += 1;
      received += 1;
      if (msg.type === "command.run") {
        const jobId = String(p.job_id);
        jobIds.push(jobId);
        // The real agent persists the job, then answers at once: accepted, not finished.
        ws.send(envelope("command.result", { job_id: jobId, accepted: true }));
      }
      return;
    }
    case "ack": {
      for (const id of (p.ids as string[] | undefined) ?? []) {
        if (s.outstanding.delete(id)) {
          ackedFrames += 1;
          sendLogFrame(s);
        }
      }
      onLogProgress?.();
      return;
    }
    case "error": {
      countError(`error ${String(p.code)}: ${String(p.message).slice(0, 80)}`);
      const ref = p.ref_id;
      const at = s.fifo.findIndex((f) => f.id === ref);
      if (at >= 0) s.fifo.splice(at, 1);
      if (typeof ref === "string" && s.outstanding.delete(ref)) {
        sendLogFrame(s);
        onLogProgress?.();
      }
      return;
    }
    default:
      return;
  }
}

function carries(schedules: unknown, cron: string): boolean {
  return Array.isArray(schedules) && schedules.some((e) => (e as { cron_expr?: unknown })?.cron_expr === cron);
}

function tick() {
  const now = performance.now();
  for (const s of sims) {
    const ws = s.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) continue;
    if (s.ready) {
      if (now >= s.nextBeat) {
        s.nextBeat += heartbeatMs;
        ws.send(envelope("heartbeat", { sent_at: new Date().toISOString() }));
      }
    } else if (now - s.helloAt > HANDSHAKE_TIMEOUT_MS) {
      // The onclose handler counts it as lost and reconnects.
      ws.close(1000, "no schedule.set within 30 s");
    }
  }
}

function snapshot(): SimStatus {
  let ready = 0;
  let sinceMark = 0;
  let watched = 0;
  for (const s of sims) {
    if (s.watch !== null) watched += 1;
    if (!s.ready) continue;
    ready += 1;
    if (s.handshakes > s.markHandshakes) sinceMark += 1;
  }
  return { ...status, agents: sims.length, ready, sinceMark, watched, errors: { ...status.errors } };
}

async function connect(cmd: Extract<ToSim, { op: "connect" }>): Promise<ConnectResult> {
  url = cmd.url;
  ca = cmd.ca;
  mode = cmd.mode;
  heartbeatMs = cmd.heartbeatMs;
  concurrency = cmd.concurrency;
  ackBare = cmd.ackBare === true;
  const started = performance.now();
  const fresh: Sim[] = cmd.agents.map(newSim);
  sims.push(...fresh);
  queue.push(...fresh);
  pump();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, cmd.timeoutMs);
    onRampProgress = () => {
      if (fresh.every((s) => s.handshakes > 0)) {
        clearTimeout(timer);
        resolve();
      }
    };
    onRampProgress();
  });
  onRampProgress = null;
  return { status: snapshot(), ms: performance.now() - started };
}

function newSim(spec: SimAgentSpec): Sim {
  return {
    spec,
    ws: null,
    ready: false,
    helloAt: 0,
    openedAt: 0,
    handshakes: 0,
    markHandshakes: 0,
    attempt: 0,
    nextBeat: 0,
    slot: false,
    fifo: [],
    fireSeq: 0,
    logSent: 0,
    outstanding: new Set(),
    watch: null,
    enrollAt: 0,
    enrolledAt: 0,
    helloEpoch: null,
  };
}

const arrival = (s: Sim): SetArrival => ({
  id: s.spec.id,
  at: s.watch?.at ?? null,
  version: s.watch?.version ?? null,
  bytes: s.watch?.bytes ?? null,
});

/**
 * New agents, as the real one starts: POST /api/v1/agent/enroll with the enrollment token, then
 * the WebSocket with the agent token it got. Starts are spread evenly over `spreadMs`.
 */
async function enroll(cmd: Extract<ToSim, { op: "enroll" }>): Promise<EnrollResult> {
  url = cmd.url;
  ca = cmd.ca;
  mode = cmd.mode;
  heartbeatMs = cmd.heartbeatMs;
  ackBare = cmd.ackBare === true;
  watchCron = cmd.watchCron;
  const failures: Record<string, number> = {};
  const enrolled: Sim[] = [];
  const one = async (i: number) => {
    await Bun.sleep((i * cmd.spreadMs) / cmd.count);
    const enrollAt = epochNow();
    try {
      const res = await fetch(`${url}/api/v1/agent/enroll`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token: cmd.token, hostname: `${cmd.hostnamePrefix}-${String(i).padStart(4, "0")}` }),
        ...(ca ? { tls: { ca } } : {}),
      } as RequestInit);
      const body = (await res.json()) as { host_id?: string; agent_token?: string };
      if (res.status !== 201 || !body.host_id || !body.agent_token) {
        failures[`enroll answered ${res.status}`] = (failures[`enroll answered ${res.status}`] ?? 0) + 1;
        return;
      }
      const s = newSim({ id: body.host_id, token: body.agent_token, scheduleId: "" });
      s.enrollAt = enrollAt;
      s.enrolledAt = epochNow();
      sims.push(s);
      enrolled.push(s);
      open(s);
    } catch (err) {
      const key = `enroll failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 100);
      failures[key] = (failures[key] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: cmd.count }, (_, i) => one(i)));
  const until = performance.now() + cmd.timeoutMs;
  while (performance.now() < until && enrolled.some((s) => s.watch === null)) await Bun.sleep(20);
  const agents: EnrolledArrival[] = enrolled.map((s) => ({
    ...arrival(s),
    enrollAt: s.enrollAt,
    enrolledAt: s.enrolledAt,
    helloAt: s.helloEpoch,
  }));
  return { agents, failures, status: snapshot() };
}

async function fire(cmd: Extract<ToSim, { op: "fire" }>): Promise<FireResult> {
  latencies = [];
  jobIds = [];
  received = 0;
  unmatched = 0;
  const errorsBefore = { ...status.errors };
  const candidates = sims.filter((s) => s.ready);
  if (candidates.length === 0) throw new Error("no connected agent to fire from");
  const base = Date.now();
  const t0 = performance.now();
  let sent = 0;
  let next = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - t0;
      const due = Math.min(
        Math.floor((cmd.ratePerSec * Math.min(elapsed, cmd.durationMs)) / 1000),
        Math.floor((cmd.ratePerSec * cmd.durationMs) / 1000),
      );
      let skipped = 0;
      while (sent < due && skipped < candidates.length) {
        const s = candidates[next % candidates.length] as Sim;
        next += 1;
        const ws = s.ws;
        if (!ws || !s.ready) {
          skipped += 1;
          continue;
        }
        const id = crypto.randomUUID();
        // Unique per schedule and per run, and a real, recent run of the seeded every-second
        // schedule (the server refuses invented ones): one whole second further back per fire.
        s.fireSeq += 1;
        const scheduledAt = new Date(Math.floor(base / 1000) * 1000 - s.fireSeq * 1000).toISOString();
        // Its jobs are never finished, so each fire names the next of the host's schedules: a
        // schedule's tick behind its pending run would be merged into it (tick-merge.ts), no job.
        const ids = s.spec.scheduleIds ?? [s.spec.scheduleId];
        const payload = { schedule_id: ids[(s.fireSeq - 1) % ids.length], scheduled_at: scheduledAt };
        s.fifo.push({ id, t: performance.now() });
        ws.send(envelope(mode === "fleet" ? "schedule.fire" : "echo", payload, id));
        sent += 1;
      }
      if (elapsed >= cmd.durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  const drainUntil = performance.now() + cmd.drainMs;
  while (performance.now() < drainUntil && sims.some((s) => s.fifo.length > 0)) await Bun.sleep(20);
  const pendingAtEnd = sims.reduce((n, s) => n + s.fifo.length, 0);
  for (const s of sims) s.fifo.length = 0;
  const errors: Record<string, number> = {};
  for (const [k, v] of Object.entries(status.errors)) {
    const d = v - (errorsBefore[k] ?? 0);
    if (d > 0) errors[k] = d;
  }
  return { sent, received, latencies, jobIds, unmatched, pendingAtEnd, errors };
}

function sendLogFrame(s: Sim) {
  const frames = logPlan.frames;
  const ws = s.ws;
  if (!ws || s.logSent >= frames || !s.spec.jobId) return;
  const f = s.logSent;
  s.logSent += 1;
  const ts = new Date().toISOString();
  const lines = [];
  for (let l = 0; l < logPlan.lines; l++) {
    const seq = f * logPlan.lines + l + 1;
    lines.push({ job_id: s.spec.jobId, seq, ts, stream: "stdout", payload: logPayload(seq) });
  }
  const id = crypto.randomUUID();
  s.outstanding.add(id);
  ws.send(envelope("job.log", { lines }, id));
}

const logPlan = { frames: 0, lines: 0 };

async function logs(cmd: Extract<ToSim, { op: "logs" }>): Promise<LogsResult> {
  logPlan.frames = cmd.frames;
  logPlan.lines = cmd.lines;
  ackedFrames = 0;
  const errorsBefore = { ...status.errors };
  const senders = sims.filter((s) => s.ready && s.spec.jobId);
  const t0 = performance.now();
  for (const s of senders) {
    s.logSent = 0;
    s.outstanding.clear();
    for (let w = 0; w < cmd.window; w++) sendLogFrame(s);
  }
  const done = () => senders.every((s) => s.logSent >= cmd.frames && s.outstanding.size === 0);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, cmd.timeoutMs);
    onLogProgress = () => {
      if (done()) {
        clearTimeout(timer);
        resolve();
      }
    };
    onLogProgress();
  });
  onLogProgress = null;
  const errors: Record<string, number> = {};
  for (const [k, v] of Object.entries(status.errors)) {
    const d = v - (errorsBefore[k] ?? 0);
    if (d > 0) errors[k] = d;
  }
  return {
    frames: senders.length * cmd.frames,
    lines: senders.length * cmd.frames * cmd.lines,
    ackedFrames,
    ms: performance.now() - t0,
    errors,
  };
}

function closeAll() {
  closing = true;
  for (const t of timers) clearTimeout(t);
  timers.clear();
  for (const s of sims) s.ws?.close(1000, "bench done");
}

async function handle(cmd: ToSim): Promise<unknown> {
  switch (cmd.op) {
    case "connect":
      return connect(cmd);
    case "fire":
      return fire(cmd);
    case "logs":
      return logs(cmd);
    case "enroll":
      return enroll(cmd);
    case "watch":
      watchCron = cmd.cron;
      for (const s of sims) s.watch = null;
      return snapshot();
    case "watched":
      return sims.map(arrival);
    case "mark":
      for (const s of sims) s.markHandshakes = s.handshakes;
      return snapshot();
    case "status":
      return snapshot();
    case "close":
      closeAll();
      return snapshot();
    default: {
      const unreachable: never = cmd;
      throw new Error(`unknown op ${JSON.stringify(unreachable)}`);
    }
  }
}

const reply = (m: FromSim) => process.send?.(m);

process.on("message", (raw) => {
  const cmd = raw as ToSim;
  handle(cmd).then(
    (result) => {
      reply({ re: cmd.req, ok: true, result });
      if (cmd.op === "close") setTimeout(() => process.exit(0), 200);
    },
    (err) => reply({ re: cmd.req, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
// The bench went away (crash, Ctrl-C): do not linger.
process.on("disconnect", () => process.exit(0));
setInterval(tick, TICK_MS);
