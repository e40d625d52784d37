import { hostname } from "node:os";
import type { RepoTestedPayload } from "../../../protocol/index.ts";
import type { Clock } from "../clock.ts";
import { classifyFailure, repositoryPresence } from "./classify.ts";
import type { ResticSession } from "./restic-session.ts";
import { isLiveRestic } from "./stale-locks.ts";
import type { ChildLike } from "./types.ts";

/**
 * How long one restic step of a test may take. restic 0.18 retries an unreachable backend with
 * backoff for minutes (measured here: 0.8 s, 1.2, 3.6, 7, 23, 33 s ... against a closed port), and
 * 0.14 gives up at once; 15 s lets a slow but working backend answer and still ends the test.
 */
export const TEST_STEP_TIMEOUT_MS = 15_000;
/** restic deems a lock stale after 30 minutes (restic's internal/restic/lock.go staleTimeout). */
const STALE_LOCK_MS = 30 * 60_000;
/** Locks read one by one with `cat lock`: a repository with more is reported by count only. */
const MAX_LOCKS_READ = 20;

export interface RepoTestOptions {
  session: ResticSession;
  clock: Clock;
  redact: (text: string) => string;
  timeoutMs?: number;
  isLive?: (pid: number) => boolean;
}

/** restic 0.18 clears its progress line with ESC [2K before a message. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, "g");

type Step = { exitCode: number; out: string[]; err: string[]; timedOut: boolean };

/** One restic step, killed when it outlives the timeout (read-only and --no-lock: nothing to clean up). */
async function step(o: RepoTestOptions, args: string[]): Promise<Step> {
  const out: string[] = [];
  const err: string[] = [];
  let child: ChildLike | null = null;
  let timedOut = false;
  const timer = o.clock.setTimeout(() => {
    timedOut = true;
    child?.kill("SIGKILL");
  }, o.timeoutMs ?? TEST_STEP_TIMEOUT_MS);
  const res = await o.session.run(["--no-lock", ...args], {
    onStdout: (l) => out.push(l),
    onStderr: (l) => err.push(o.redact(l)),
    onSpawn: (c) => {
      child = c;
    },
  });
  o.clock.clearTimeout(timer);
  if (!res.started) err.push(o.redact(res.error));
  return { exitCode: res.exitCode, out, err, timedOut };
}

/** restic's own error lines, without the progress noise and the "Is there a repository" hint. */
function errorOf(s: Step, seconds: number): string {
  const lines = s.err.map((l) => l.replace(ANSI, "").trim()).filter((l) => l !== "");
  const fatal = lines.filter((l) => /^Fatal:|error/i.test(l) && !/^Is there a repository/.test(l));
  const text = (fatal.length > 0 ? fatal : lines).slice(-3).join("\n");
  if (s.timedOut) return `restic gave no answer within ${seconds} s${text ? `; its last words: ${text}` : ""}`;
  return text || `restic failed with exit code ${s.exitCode}`;
}

/**
 * Tests a repository the way a job would open it: `cat config` (reachable, initialised, the
 * password opens a key), then `list locks` and `cat lock` for each (how many, and how many are
 * stale: older than 30 minutes, or made on this host by a process that is gone). Never throws,
 * never takes a lock, never changes the repository.
 */
export async function testRepository(o: RepoTestOptions): Promise<Omit<RepoTestedPayload, "request_id">> {
  const seconds = Math.round((o.timeoutMs ?? TEST_STEP_TIMEOUT_MS) / 1000);
  const config = await step(o, ["cat", "config"]);
  if (config.exitCode !== 0 || config.timedOut) {
    const error = errorOf(config, seconds);
    if (config.timedOut) return { reachable: false, initialised: false, password_ok: false, error };
    if (repositoryPresence(config.err, config.exitCode) === "missing") {
      return { reachable: true, initialised: false, password_ok: false, error };
    }
    const reason = classifyFailure(config.err, config.exitCode).reason;
    if (reason === "wrong_password") return { reachable: true, initialised: true, password_ok: false, error };
    return { reachable: false, initialised: false, password_ok: false, error };
  }
  const list = await step(o, ["list", "locks"]);
  if (list.exitCode !== 0 || list.timedOut) {
    return { reachable: true, initialised: true, password_ok: true, error: errorOf(list, seconds) };
  }
  const ids = list.out.map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l));
  let stale = 0;
  const isLive = o.isLive ?? isLiveRestic;
  const now = o.clock.now().getTime();
  const me = hostname();
  for (const id of ids.slice(0, MAX_LOCKS_READ)) {
    const cat = await step(o, ["cat", "lock", id]);
    try {
      const j = JSON.parse(cat.out.join("\n")) as { time?: string; hostname?: string; pid?: number };
      const age = now - Date.parse(j.time ?? "");
      if (age > STALE_LOCK_MS || (j.hostname === me && typeof j.pid === "number" && !isLive(j.pid))) stale++;
    } catch {
      // Removed meanwhile (its holder finished): not stale, and no longer counted by restic either.
    }
  }
  return {
    reachable: true,
    initialised: true,
    password_ok: true,
    locks: ids.length <= MAX_LOCKS_READ ? { count: ids.length, stale } : { count: ids.length },
  };
}
