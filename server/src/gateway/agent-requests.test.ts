import { expect, test } from "bun:test";
import type { AnswerHandler, LiveAnswer } from "../domain/agent-link.ts";
import { silentLogger } from "../log.ts";
import { PendingAgentRequests } from "./agent-requests.ts";

function recorder() {
  const seen: string[] = [];
  const handler: AnswerHandler = {
    answer: (m) => seen.push(`${m.type}:${m.payload.request_id}`),
    gone: (reason) => seen.push(`gone:${reason}`),
  };
  return { seen, handler };
}

const end = (requestId: string): LiveAnswer => ({
  type: "download.end",
  id: "e1",
  ts: "2026-12-02T00:00:00Z",
  payload: { request_id: requestId, bytes: 0 },
});

test("answers reach their own request by host and request id; others are dropped quietly", () => {
  const p = new PendingAgentRequests(silentLogger);
  const a = recorder();
  const b = recorder();
  p.expect("host_a", "req_1", a.handler);
  p.expect("host_b", "req_1", b.handler);
  p.deliver("host_a", end("req_1"));
  p.deliver("host_a", end("req_unknown"));
  p.deliver("host_c", end("req_1"));
  expect(a.seen).toEqual(["download.end:req_1"]);
  expect(b.seen).toEqual([]);
});

test("forgetting a request stops its answers; a host going away fails only its own", () => {
  const p = new PendingAgentRequests(silentLogger);
  const a1 = recorder();
  const a2 = recorder();
  const b = recorder();
  const forget = p.expect("host_a", "req_1", a1.handler);
  p.expect("host_a", "req_2", a2.handler);
  p.expect("host_b", "req_3", b.handler);
  forget();
  p.deliver("host_a", end("req_1"));
  expect(a1.seen).toEqual([]);
  p.hostGone("host_a", "its agent disconnected");
  expect(a2.seen).toEqual(["gone:its agent disconnected"]);
  expect(b.seen).toEqual([]);
  expect(p.size).toBe(1);
  p.deliver("host_a", end("req_2"));
  expect(a2.seen).toHaveLength(1);
});
