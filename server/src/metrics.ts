/** In-process counters for /metrics (gauges are read from the store at scrape time). */
export class Counters {
  messagesIn = new Map<string, number>();
  gatewayErrors = new Map<string, number>();
  /** Group commits of agent frames (one transaction each), and the frames they held. */
  gatewayCommits = 0;
  gatewayCommittedFrames = 0;

  inc(map: Map<string, number>, key: string, by = 1): void {
    map.set(key, (map.get(key) ?? 0) + by);
  }
}
