import { describe, expect, test } from "bun:test";
import { FakeClock } from "../testing/fake-clock.ts";
import { CreditGate, pumpChunks } from "./download.ts";

/**
 * The download's flow control over a fake byte stream: restic's stdout is read only as credit
 * allows, so what is held in memory stays bounded by the window whatever the size.
 */

/** A pull-based byte source of `total` bytes in reads of `read` bytes; counts what was pulled. */
function source(total: number, read: number) {
  const s = { pulled: 0, cancelled: false, expected: new Uint8Array(total) };
  for (let i = 0; i < total; i++) s.expected[i] = (i * 7 + 3) & 0xff;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (s.pulled >= total) return controller.close();
        const n = Math.min(read, total - s.pulled);
        controller.enqueue(s.expected.slice(s.pulled, s.pulled + n));
        s.pulled += n;
      },
      cancel() {
        s.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { s, stream };
}

function collector() {
  const got: Array<{ seq: number; data: Uint8Array }> = [];
  const c = {
    got,
    afterSend: null as (() => void) | null,
    send: (seq: number, data: Uint8Array) => {
      got.push({ seq, data: data.slice() });
      c.afterSend?.();
      return true;
    },
    bytes: () => Buffer.concat(got.map((g) => g.data)),
  };
  return c;
}

describe("CreditGate", () => {
  test("window credits at first, then one per credit; never more than the window outstanding", async () => {
    const gate = new CreditGate(2, new FakeClock());
    const signal = new AbortController().signal;
    expect(await gate.take(signal)).toBe("ok");
    expect(await gate.take(signal)).toBe("ok");
    expect(gate.outstanding).toBe(2);
    const third = gate.take(signal);
    await gate.whenWaiting();
    expect(gate.waiting).toBe(true);
    gate.grant(1);
    expect(await third).toBe("ok");
    expect(gate.outstanding).toBe(2);
    gate.grant(2);
    expect(gate.outstanding).toBe(0);
    expect(gate.maxOutstanding).toBe(2);
  });

  test("a wait ends on abort, and on the clock when no credit comes", async () => {
    const clock = new FakeClock();
    const gate = new CreditGate(1, clock, 1000);
    const abort = new AbortController();
    await gate.take(abort.signal);
    const aborted = gate.take(abort.signal);
    await gate.whenWaiting();
    abort.abort();
    expect(await aborted).toBe("aborted");
    const stalled = gate.take(new AbortController().signal);
    await gate.whenWaiting();
    clock.advance(999);
    expect(gate.waiting).toBe(true);
    clock.advance(1);
    expect(await stalled).toBe("stalled");
  });
});

describe("pumpChunks", () => {
  test("chunks come whole and in order, the last one shorter, and add up to the stream", async () => {
    const { s, stream } = source(10_500, 700);
    const out = collector();
    const gate = new CreditGate(64, new FakeClock());
    const r = await pumpChunks({
      stream,
      gate,
      signal: new AbortController().signal,
      chunkBytes: 1000,
      send: out.send,
    });
    expect(r).toMatchObject({ stop: "eof", bytes: 10_500, chunks: 11 });
    expect(out.got.map((g) => g.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(out.got.map((g) => g.data.length)).toEqual([...Array(10).fill(1000), 500]);
    expect(out.bytes().equals(Buffer.from(s.expected))).toBe(true);
    // One chunk plus the rest of one read at most, never the whole stream.
    expect(r.maxHeldBytes).toBeLessThan(1000 + 700);
  });

  test("without credit nothing more is read; each credit lets one more chunk through", async () => {
    const { s, stream } = source(1_000_000, 300);
    const out = collector();
    const gate = new CreditGate(3, new FakeClock());
    const pumping = pumpChunks({
      stream,
      gate,
      signal: new AbortController().signal,
      chunkBytes: 1000,
      send: out.send,
    });
    await gate.whenWaiting();
    expect(out.got).toHaveLength(3);
    // Three chunks sent, the fourth read and held while it waits for credit: nothing beyond it.
    const stalledAt = s.pulled;
    expect(stalledAt).toBeLessThanOrEqual(4 * 1000 + 300);
    expect(gate.outstanding).toBe(3);
    gate.grant(1);
    await gate.whenWaiting();
    expect(out.got).toHaveLength(4);
    expect(s.pulled).toBeLessThanOrEqual(stalledAt + 1000 + 300);
    // The server now credits every chunk soon after it arrives, and the rest flows.
    out.afterSend = () => queueMicrotask(() => gate.grant(1));
    gate.grant(3);
    const r = await pumping;
    expect(r.stop).toBe("eof");
    expect(r.bytes).toBe(1_000_000);
    expect(gate.maxOutstanding).toBe(3);
    expect(r.maxHeldBytes).toBeLessThan(1000 + 300);
    expect(out.bytes().equals(Buffer.from(s.expected))).toBe(true);
  });

  test("an abort while waiting for credit stops reading and cancels the stream", async () => {
    const { s, stream } = source(1_000_000, 1000);
    const out = collector();
    const gate = new CreditGate(1, new FakeClock());
    const abort = new AbortController();
    const pumping = pumpChunks({ stream, gate, signal: abort.signal, chunkBytes: 1000, send: out.send });
    await gate.whenWaiting();
    abort.abort();
    const r = await pumping;
    expect(r).toMatchObject({ stop: "aborted", chunks: 1, bytes: 1000 });
    expect(s.cancelled).toBe(true);
    expect(s.pulled).toBeLessThanOrEqual(2000);
  });

  test("a send the link refuses stops the pump (the link is down)", async () => {
    const { s, stream } = source(5000, 1000);
    const gate = new CreditGate(8, new FakeClock());
    let sent = 0;
    const r = await pumpChunks({
      stream,
      gate,
      signal: new AbortController().signal,
      chunkBytes: 1000,
      send: () => ++sent < 2,
    });
    expect(r).toMatchObject({ stop: "link_down", chunks: 1, bytes: 1000 });
    expect(s.cancelled).toBe(true);
  });
});
