import type { Socket, TCPSocketListener } from "bun";

/**
 * A TCP proxy between an agent and the server that can break the link at a chosen moment: once
 * armed, the first server → agent bytes carrying a given text (server frames are unmasked, and
 * the server does not compress them) are dropped, both sides are closed, and new connections are
 * refused until `release()`. The server stays up the whole time: only this one agent's link breaks.
 */
export interface LinkProxy {
  url: string;
  /** Breaks the link at the next server → agent frame that contains `text`. */
  cutAt(text: string): Promise<void>;
  /** Breaks the link now. */
  cutNow(): void;
  release(): void;
  close(): void;
}

interface Side {
  peer: Socket<Side> | null;
  /** Bytes waiting for the peer to connect or to drain. */
  queue: Uint8Array[];
  /** server → agent: the upstream side. */
  upstream: boolean;
}

/** Writes what the socket takes now and keeps the rest for its drain. */
function forward(to: Socket<Side>, bytes: Uint8Array) {
  if (to.data.queue.length > 0) {
    to.data.queue.push(bytes);
    return;
  }
  const n = to.write(bytes);
  if (n < bytes.length) to.data.queue.push(bytes.subarray(Math.max(0, n)));
}

function drain(s: Socket<Side>) {
  while (s.data.queue.length > 0) {
    const head = s.data.queue[0] as Uint8Array;
    const n = s.write(head);
    if (n < head.length) {
      s.data.queue[0] = head.subarray(Math.max(0, n));
      return;
    }
    s.data.queue.shift();
  }
}

export function startLinkProxy(target: string): LinkProxy {
  const to = new URL(target);
  let refusing = false;
  let trigger: { text: string; done: () => void } | null = null;
  const open = new Set<Socket<Side>>();
  const cut = () => {
    refusing = true;
    for (const s of open) s.end();
    open.clear();
  };
  const listener: TCPSocketListener<Side> = Bun.listen<Side>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = { peer: null, queue: [], upstream: false };
        if (refusing) {
          client.end();
          return;
        }
        open.add(client);
        void Bun.connect<Side>({
          hostname: to.hostname,
          port: Number(to.port),
          socket: {
            open(up) {
              up.data = { peer: client, queue: client.data.queue.splice(0), upstream: true };
              client.data.peer = up;
              open.add(up);
              drain(up);
            },
            data(up, bytes) {
              if (trigger && Buffer.from(bytes).includes(trigger.text)) {
                const done = trigger.done;
                trigger = null;
                cut();
                done();
                return;
              }
              if (up.data.peer) forward(up.data.peer, bytes);
            },
            drain,
            close(up) {
              open.delete(up);
              up.data.peer?.end();
            },
            error(up) {
              up.data.peer?.end();
            },
          },
        }).catch(() => client.end());
      },
      data(client, bytes) {
        const up = client.data.peer;
        if (up) forward(up, bytes);
        else client.data.queue.push(new Uint8Array(bytes));
      },
      drain,
      close(client) {
        open.delete(client);
        client.data.peer?.end();
      },
      error(client) {
        client.data.peer?.end();
      },
    },
  });
  return {
    url: `http://127.0.0.1:${listener.port}`,
    cutAt: (text) =>
      new Promise<void>((resolve) => {
        trigger = { text, done: resolve };
      }),
    cutNow: cut,
    release() {
      refusing = false;
    },
    close() {
      cut();
      listener.stop(true);
    },
  };
}
