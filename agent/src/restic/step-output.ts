import type { LogBatcher } from "./log-batcher.ts";
import { type ProgressThrottle, progressOf } from "./progress.ts";
import { describeError, type ErrorMessage, parseResticLine, type SummaryMessage } from "./restic-json.ts";
import type { Redact } from "./secrets.ts";

// Enough context for the classifier; the error text itself keeps the last 5 (STDERR_TAIL_LINES).
const TAIL_KEEP = 20;

/**
 * Reads one restic process's output: status lines become throttled progress, everything else goes
 * to the job log (stdout or stderr as it came), and what decides the result is kept: the summary,
 * the stderr tail (redacted), paths restic skipped and other JSON (forget's groups).
 */
export class StepOutput {
  summary: SummaryMessage | null = null;
  readonly stderrTail: string[] = [];
  readonly skippedPaths: string[] = [];
  readonly otherJson: unknown[] = [];
  /** restic >= 0.18 with --json: the code of its fatal exit_error line. */
  exitErrorCode: number | undefined;
  errorCount = 0;

  constructor(
    private readonly jobId: string,
    private readonly log: LogBatcher,
    private readonly progress: ProgressThrottle | null,
    private readonly redact: Redact,
  ) {}

  stdout = (line: string): void => {
    const parsed = parseResticLine(line);
    if (!parsed) {
      this.log.add("stdout", line);
      return;
    }
    if (parsed.kind === "json") {
      this.otherJson.push(parsed.value);
      this.log.add("stdout", line);
      return;
    }
    const msg = parsed.message;
    switch (msg.message_type) {
      case "status":
        this.progress?.update(progressOf(this.jobId, msg));
        return;
      case "summary":
        this.summary = msg;
        this.log.add("stdout", line);
        return;
      case "error":
        this.#error(msg);
        return;
      case "verbose_status":
        this.log.add("stdout", line);
        return;
      case "exit_error":
        this.#exitError(msg.message, msg.code);
        return;
      default: {
        const never: never = msg;
        this.log.add("stdout", JSON.stringify(never));
      }
    }
  };

  stderr = (line: string): void => {
    const parsed = parseResticLine(line);
    if (parsed?.kind === "message" && parsed.message.message_type === "exit_error") {
      // restic >= 0.18 with --json: the fatal error as JSON; keep its text lines for the classifier.
      this.#exitError(parsed.message.message, parsed.message.code);
      return;
    }
    if (parsed?.kind === "message" && parsed.message.message_type === "error") {
      this.#error(parsed.message);
      return;
    }
    const skipped = /^(.+) does not exist, skipping$/.exec(line.trim());
    if (skipped?.[1]) this.skippedPaths.push(skipped[1]);
    this.#stderrText(line);
  };

  #exitError(message: string, code: number | undefined): void {
    if (code !== undefined) this.exitErrorCode = code;
    this.#stderrText(message);
  }

  #error(msg: ErrorMessage): void {
    this.errorCount += 1;
    this.#stderrText(describeError(msg));
  }

  #stderrText(text: string): void {
    for (const line of text.split(/\r?\n/)) {
      if (line.trim().length === 0) continue;
      this.log.add("stderr", line);
      this.stderrTail.push(this.redact(line));
      if (this.stderrTail.length > TAIL_KEEP) this.stderrTail.shift();
    }
  }
}

/** forget --json: one group per host/paths, each with keep and remove lists. */
export function forgetCounts(values: unknown[]): { snapshots_kept: number; snapshots_removed: number } | null {
  const groups = values.find((x) => Array.isArray(x));
  if (!Array.isArray(groups)) return null;
  let kept = 0;
  let removed = 0;
  for (const g of groups) {
    if (!g || typeof g !== "object") continue;
    const { keep, remove } = g as { keep?: unknown; remove?: unknown };
    if (Array.isArray(keep)) kept += keep.length;
    if (Array.isArray(remove)) removed += remove.length;
  }
  return { snapshots_kept: kept, snapshots_removed: removed };
}
