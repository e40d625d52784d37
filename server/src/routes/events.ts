import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import * as v from "valibot";
import type { Domain } from "../domain/domain.ts";
import type { FleetEvent } from "../domain/events.ts";
import type { AppEnv } from "../http/auth.ts";
import { query } from "../http/validate.ts";

/** Both optional: without them, every event of the fleet. */
export const EventsQuery = v.object({ host_id: v.optional(v.string()), job_id: v.optional(v.string()) });

/** 15 s keeps proxies from closing an idle stream (most time out at 30-60 s). */
const KEEPALIVE_MS = 15_000;

/** GET /events: Server-Sent Events for job progress, job state, log lines and host presence. */
export function eventRoutes(domain: Domain) {
  return new Hono<AppEnv>().get("/", (c) => {
    const { host_id: hostFilter, job_id: jobFilter } = query(c, EventsQuery);
    return streamSSE(c, async (stream) => {
      const queue: FleetEvent[] = [];
      let open = true;
      let wake: (() => void) | null = null;
      const unsubscribe = domain.subscribe((e) => {
        if (hostFilter && e.host_id !== hostFilter) return;
        if (jobFilter && (!("job_id" in e) || e.job_id !== jobFilter)) return;
        // A client that stopped reading must not grow the queue forever: progress is dropped
        // first (the next one supersedes it), and past 5,000 events the stream is closed.
        if (queue.length >= 1000 && e.type === "job.progress") return;
        if (queue.length >= 5000) {
          open = false;
          wake?.();
          return;
        }
        queue.push(e);
        wake?.();
      });
      stream.onAbort(() => {
        open = false;
        wake?.();
      });
      try {
        await stream.writeSSE({ event: "ready", data: "{}" });
        while (open) {
          const e = queue.shift();
          if (e) {
            await stream.writeSSE({ event: e.type, data: JSON.stringify(e) });
            continue;
          }
          let timer: ReturnType<typeof setTimeout> | undefined;
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, KEEPALIVE_MS);
          });
          clearTimeout(timer);
          wake = null;
          if (queue.length === 0 && open) await stream.write(": keepalive\n\n");
        }
      } finally {
        unsubscribe();
      }
    });
  });
}
