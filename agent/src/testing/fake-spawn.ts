import type { AgentMessageType, PayloadOf } from "../../../protocol/index.ts";
import type { ChildLike, Emit, SpawnFn } from "../restic/types.ts";

/**
 * Test doubles for the process seam: a FakeChild whose output the test writes line by line, and a
 * FakeSpawn that answers each argv with a script or hands the child to the test. Used by the
 * *.test.ts files only.
 */

/** One output pipe. Pulled one chunk at a time, so drained() means "the reader handled it all". */
class Pipe {
  readonly #encoder = new TextEncoder();
  #chunks: Uint8Array[] = [];
  #closed = false;
  /** The reader asked for data and got none yet: a pull is pending on this controller. */
  #pending: { controller: ReadableStreamDefaultController<Uint8Array>; done: () => void } | null = null;
  #drainWaiters: Array<() => void> = [];

  readonly stream = new ReadableStream<Uint8Array>(
    {
      pull: (controller) => {
        const next = this.#chunks.shift();
        if (next) return controller.enqueue(next);
        if (this.#closed) return controller.close();
        for (const w of this.#drainWaiters.splice(0)) w();
        // Settled by write() or close(): a stream only pulls again when asked again.
        return new Promise<void>((done) => {
          this.#pending = { controller, done };
        });
      },
    },
    { highWaterMark: 0 },
  );

  write(text: string): void {
    const chunk = this.#encoder.encode(text);
    const pending = this.#pending;
    this.#pending = null;
    if (pending) {
      pending.controller.enqueue(chunk);
      pending.done();
    } else {
      this.#chunks.push(chunk);
    }
  }

  close(): void {
    this.#closed = true;
    const pending = this.#pending;
    this.#pending = null;
    if (pending) {
      pending.controller.close();
      pending.done();
    }
  }

  /** Resolves when the reader has taken every chunk and asks for more. */
  drained(): Promise<void> {
    if (this.#closed || (this.#pending && this.#chunks.length === 0)) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }
}

let nextPid = 4000;

export class FakeChild implements ChildLike {
  readonly pid = nextPid++;
  readonly signals: Array<NodeJS.Signals | number> = [];
  readonly exited: Promise<number>;
  readonly #out = new Pipe();
  readonly #err = new Pipe();
  #resolveExit: (code: number) => void = () => {};
  #done = false;
  /** What a signal does; by default SIGINT exits 130 and SIGKILL 137, like restic. */
  onSignal: (signal: NodeJS.Signals | number) => void = (signal) => {
    if (signal === "SIGKILL") this.exit(137);
    else if (signal === "SIGINT") this.exit(130);
  };

  constructor() {
    this.exited = new Promise((resolve) => {
      this.#resolveExit = resolve;
    });
  }

  get stdout() {
    return this.#out.stream;
  }
  get stderr() {
    return this.#err.stream;
  }
  get done(): boolean {
    return this.#done;
  }

  kill(signal: NodeJS.Signals | number = "SIGTERM"): void {
    if (this.#done) return;
    this.signals.push(signal);
    this.onSignal(signal);
  }

  /** Writes lines (each ends with a newline) in one chunk. */
  out(...lines: string[]): this {
    this.#out.write(lines.map((l) => `${l}\n`).join(""));
    return this;
  }

  err(...lines: string[]): this {
    this.#err.write(lines.map((l) => `${l}\n`).join(""));
    return this;
  }

  /** Resolves when the supervisor has handled everything written so far. */
  async drained(): Promise<void> {
    await Promise.all([this.#out.drained(), this.#err.drained()]);
  }

  exit(code: number): void {
    if (this.#done) return;
    this.#done = true;
    this.#out.close();
    this.#err.close();
    this.#resolveExit(code);
  }
}

export type Script = { stdout?: string[]; stderr?: string[]; exitCode?: number } | "manual";
export type Handler = (argv: string[], env: Record<string, string>) => Script;
export interface Call {
  argv: string[];
  env: Record<string, string>;
  child: FakeChild;
}

export const VERSION_014 = "restic 0.14.0 compiled with go1.19.8 on linux/amd64";

/** Answers `restic version` with 0.14 and everything else with a silent exit 0. */
export const defaultHandler: Handler = (argv) => (argv[1] === "version" ? { stdout: [VERSION_014] } : {});

export class FakeSpawn {
  readonly calls: Call[] = [];
  #waiters: Array<{ test: (c: Call) => boolean; resolve: (c: Call) => void }> = [];

  constructor(public handler: Handler = defaultHandler) {}

  readonly spawn: SpawnFn = (argv, opts) => {
    const child = new FakeChild();
    const call = { argv, env: opts.env, child };
    this.calls.push(call);
    const script = this.handler(argv, opts.env);
    if (script !== "manual") {
      if (script.stdout?.length) child.out(...script.stdout);
      if (script.stderr?.length) child.err(...script.stderr);
      child.exit(script.exitCode ?? 0);
    }
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.test(call)) return true;
      w.resolve(call);
      return false;
    });
    return child;
  };

  /** The first spawn (past or future) whose argv contains `word`. */
  waitFor(word: string): Promise<Call> {
    const test = (c: Call) => c.argv.includes(word);
    const seen = this.calls.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }

  /** The restic subcommands run so far, `restic version` left out. */
  get commands(): string[] {
    return this.calls.filter((c) => c.argv[1] !== "version").map((c) => c.argv.slice(1).join(" "));
  }
}

export interface Emitted {
  type: AgentMessageType;
  payload: unknown;
}

/** Records what the supervisor emits; waitFor resolves on the first (past or future) match. */
export class Recorder {
  readonly events: Emitted[] = [];
  #waiters: Array<{ type: AgentMessageType; resolve: (p: unknown) => void }> = [];

  readonly emit: Emit = (type, payload) => {
    this.events.push({ type, payload });
    this.#waiters = this.#waiters.filter((w) => {
      if (w.type !== type) return true;
      w.resolve(payload);
      return false;
    });
  };

  of<T extends AgentMessageType>(type: T): PayloadOf<T>[] {
    return this.events.filter((e) => e.type === type).map((e) => e.payload as PayloadOf<T>);
  }

  async waitFor<T extends AgentMessageType>(type: T): Promise<PayloadOf<T>> {
    const seen = this.events.find((e) => e.type === type);
    const payload = seen
      ? seen.payload
      : await new Promise<unknown>((resolve) => this.#waiters.push({ type, resolve }));
    return payload as PayloadOf<T>;
  }

  /** All job.log lines in order, flattened. */
  get logLines() {
    return this.of("job.log").flatMap((f) => f.lines);
  }

  /** The job.log lines emitted before the first message of `type`, flattened. */
  logLinesBefore(type: AgentMessageType) {
    const end = this.events.findIndex((e) => e.type === type);
    return this.events
      .slice(0, end === -1 ? this.events.length : end)
      .filter((e) => e.type === "job.log")
      .flatMap((e) => (e.payload as PayloadOf<"job.log">).lines);
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }
}
