import type { HelloPayload } from "../../../protocol/index.ts";
import { isKnownZone } from "./cron.ts";
import type { DomainContext } from "./deps.ts";

/** 90 s = 3 missed heartbeats (the agent sends one every 30 s). */
export const OFFLINE_AFTER_MS = 90_000;

export function createPresence(deps: DomainContext) {
  const { store, clock, events } = deps;
  return {
    hello(hostId: string, p: HelloPayload) {
      store.recordHello(hostId, {
        hostname: p.hostname,
        // The agent holds its restic host name (it enrolled with it). An agent before protocol 2
        // sends none, and its restic writes the machine's hostname into every snapshot.
        restic_host: p.restic_host ?? p.hostname,
        timezone: p.timezone && isKnownZone(p.timezone) ? p.timezone : null,
        policy: p.policy ?? null,
        os: p.os,
        arch: p.arch,
        agent_version: p.agent_version,
        restic_version: p.restic_version,
        protocol_version: p.protocol_version,
        boot_time: p.boot_time ?? null,
        at: clock.now().toISOString(),
      });
      events.publish({ type: "host.updated", host_id: hostId, online: true });
    },
    seen(hostId: string) {
      store.touchHost(hostId, clock.now().toISOString());
    },
    ack(hostId: string, version: number) {
      if (store.ackScheduleVersion(hostId, version))
        events.publish({ type: "host.updated", host_id: hostId, online: true });
    },
    disconnected(hostId: string) {
      store.setOffline(hostId);
      events.publish({ type: "host.updated", host_id: hostId, online: false });
    },
    /** Marks hosts offline after 90 s of silence; returns their ids (the gateway closes them). */
    sweep(): string[] {
      const before = new Date(clock.now().getTime() - OFFLINE_AFTER_MS).toISOString();
      const stale = store.staleOnlineHosts(before);
      for (const id of stale) {
        store.setOffline(id);
        events.publish({ type: "host.updated", host_id: id, online: false });
      }
      return stale;
    },
  };
}
