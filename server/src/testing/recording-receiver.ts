/** One request as a receiver got it. */
export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  text: string;
}

export interface RecordingReceiver {
  url: string;
  port: number;
  requests: Recorded[];
  /** Resolves with the next request to arrive (or the first not yet taken): a signal to wait on. */
  next(): Promise<Recorded>;
  stop(): Promise<void>;
}

/**
 * A real HTTP receiver on a random loopback port that records every request, for the notification
 * senders' tests. `answer` decides the response (default 200 "ok"); one that never resolves makes
 * a receiver that never answers.
 */
export function recordingReceiver(
  answer: (req: Recorded) => Response | Promise<Response> = () => new Response("ok"),
): RecordingReceiver {
  const requests: Recorded[] = [];
  const waiting: ((r: Recorded) => void)[] = [];
  let taken = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = new Uint8Array(await req.arrayBuffer());
      const rec: Recorded = {
        method: req.method,
        path: new URL(req.url).pathname,
        headers: Object.fromEntries(req.headers),
        body,
        text: new TextDecoder().decode(body),
      };
      requests.push(rec);
      const w = waiting.shift();
      if (w) {
        taken += 1;
        w(rec);
      }
      return answer(rec);
    },
  });
  const port = server.port as number;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    next() {
      const ready = requests[taken];
      if (ready) {
        taken += 1;
        return Promise.resolve(ready);
      }
      return new Promise((resolve) => waiting.push(resolve));
    },
    stop: () => server.stop(true),
  };
}

/** A loopback port with nothing listening: bound once, then closed. */
export async function closedPort(): Promise<number> {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = s.port as number;
  await s.stop(true);
  return port;
}
