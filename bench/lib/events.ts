// The server's event stream (GET /api/v1/events, SSE) as a list plus a wait-for-match; the bench
// waits on published signals instead of polling where the API offers them.

export interface FleetEvent {
  type: string;
  job_id?: string;
  host_id?: string;
  status?: string;
  online?: boolean;
}

export class EventStream {
  readonly seen: FleetEvent[] = [];
  #waiters: Array<() => void> = [];
  #ended = false;

  private constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  static async open(baseUrl: string, token: string): Promise<EventStream> {
    const res = await fetch(`${baseUrl}/api/v1/events`, { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok || !res.body) throw new Error(`GET /api/v1/events answered ${res.status}`);
    const s = new EventStream(res.body.getReader());
    void s.#pump();
    await s.until((e) => e.type === "ready");
    return s;
  }

  async #pump() {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await this.reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let sep = buffer.indexOf("\n\n");
      while (sep >= 0) {
        const block = buffer.slice(0, sep);
        buffer = buffer.slice(sep + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event) this.seen.push({ ...(data ? (JSON.parse(data) as object) : {}), type: event });
        sep = buffer.indexOf("\n\n");
      }
      this.#wake();
    }
    this.#ended = true;
    this.#wake();
  }

  #wake() {
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }

  /** The first event from index `from` on that matches, waiting for it (up to timeoutMs). */
  async until(match: (e: FleetEvent) => boolean, from = 0, timeoutMs = 600_000): Promise<FleetEvent> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = this.seen.slice(from).find(match);
      if (hit) return hit;
      if (this.#ended) throw new Error("the event stream ended");
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no matching event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    void this.reader.cancel().catch(() => {});
  }
}
