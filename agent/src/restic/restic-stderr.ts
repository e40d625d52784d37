import { classifyFailure, type Failure } from "./classify.ts";
import { describeError, parseResticLine } from "./restic-json.ts";
import type { Redact } from "./secrets.ts";

// Enough context for the classifier; the error text keeps the last 5 (STDERR_TAIL_LINES).
const TAIL_KEEP = 20;

/**
 * restic's stderr for a run that has no job log (browse, download): only what decides the result
 * is kept, redacted: the tail, and 0.18's exit_error code. StepOutput does the same for jobs, and
 * also writes every line to the job's log.
 */
export class ResticStderr {
  readonly tail: string[] = [];
  exitErrorCode: number | undefined;

  constructor(private readonly redact: Redact) {}

  readonly push = (line: string): void => {
    const parsed = parseResticLine(line);
    if (parsed?.kind === "message" && parsed.message.message_type === "exit_error") {
      if (parsed.message.code !== undefined) this.exitErrorCode = parsed.message.code;
      this.#text(parsed.message.message);
    } else if (parsed?.kind === "message" && parsed.message.message_type === "error") {
      this.#text(describeError(parsed.message));
    } else {
      this.#text(line);
    }
  };

  /** classify.ts's verdict on this run: the reason and an operator's sentence with the tail. */
  failure(exitCode: number): Failure {
    return classifyFailure(this.tail, exitCode, this.exitErrorCode);
  }

  #text(text: string): void {
    for (const line of text.split(/\r?\n/)) {
      if (line.trim().length === 0) continue;
      this.tail.push(this.redact(line));
      if (this.tail.length > TAIL_KEEP) this.tail.shift();
    }
  }
}
