import type { AgentMessageType, PayloadOf, ReportedHostPolicy, ServerMessage } from "../../protocol/index.ts";
import type { Autonomy } from "./autonomy.ts";
import type { Clock } from "./clock.ts";
import type { Delivery } from "./delivery.ts";
import type { LiveRequests } from "./live/live-requests.ts";
import type { Logger, Redactor } from "./log.ts";
import { pinFirstRepository, warnIfRepositoryRefused } from "./policy/repository-pin.ts";
import type { Emit, Supervisor } from "./restic/index.ts";
import { secretEnvValues } from "./restic/secrets.ts";
import type { Scheduler } from "./scheduler.ts";
import { toRfc3339 } from "./scheduler-times.ts";
import type { StateStore } from "./state/state-store.ts";

/** The agent's parts a server message acts on. */
export interface MessageContext {
  state: StateStore;
  scheduler: Scheduler;
  /** The ledger of fires: a command.run for a tick is claimed there first (autonomy.ts). */
  autonomy: Pick<Autonomy, "claim" | "acked">;
  supervisor: Supervisor;
  /** Browse and download (files.list, download.*): live-only, beside the job queue. */
  live: LiveRequests;
  delivery: Delivery;
  redactor: Redactor;
  log: Logger;
  clock: Clock;
  stateDir: string;
  policy: ReportedHostPolicy;
  /** A report, kept until acked (Agent.emit). */
  emit: Emit;
  /** A pinned agent's new pin set (the server's certificate now and next); others ignore it. */
  adoptPins: (p: { current: string; next?: string | undefined }) => Promise<void>;
  /** A live-only message (schedule.ack), lost if the link is down. */
  send: <T extends AgentMessageType>(type: T, payload: PayloadOf<T>) => boolean;
}

/**
 * What the agent does with each server message, already validated at the edge. The caller runs them
 * one at a time, in arrival order: a schedule.set must be applied before the next.
 */
export async function handleServerMessage(msg: ServerMessage, c: MessageContext): Promise<void> {
  switch (msg.type) {
    case "config.update": {
      const config = await c.state.applyConfigUpdate(msg.payload);
      c.redactor.add(config.repo_password);
      c.redactor.add(config.repo_credential);
      for (const value of secretEnvValues(config.repo_env)) c.redactor.add(value);
      c.redactor.addUrlPassword(config.repo_url);
      for (const t of config.copy_targets ?? []) {
        c.redactor.add(t.repo_password);
        for (const value of secretEnvValues(t.repo_env)) c.redactor.add(value);
        c.redactor.addUrlPassword(t.repo_url);
      }
      c.log.info("repository settings updated", { fields: Object.keys(msg.payload) });
      if (msg.payload.secrets_withheld) {
        c.log.warn(
          "the server withheld the repository password and credential: this link is not encrypted. " +
            'Enroll this host over https (docs/install.md, "Secure the link"); until then its jobs have no repository',
        );
      }
      await pinFirstRepository(c.state, c.policy, config.repo_url, c.clock, c.log);
      await warnIfRepositoryRefused(c.state, c.policy, c.log);
      return;
    }
    case "schedule.set": {
      await c.state.setScheduleSet(msg.payload);
      // A schedule's first tick counts as missed too if the agent is down when it falls.
      const now = toRfc3339(c.clock.now());
      for (const entry of msg.payload.schedules) {
        if (entry.enabled && !c.state.getLastFire(entry.id)) await c.state.setLastFire(entry.id, now);
      }
      const version = await c.scheduler.apply(msg.payload);
      c.send("schedule.ack", { version, applied_at: c.clock.now().toISOString() });
      c.log.info("schedules applied", { version, count: msg.payload.schedules.length });
      return;
    }
    case "command.run": {
      const id = msg.payload.job_id;
      // A job we already have (queued, running, or finished with its result not yet acked) is
      // answered again, never run twice.
      if (!c.state.getJob(id)) {
        // One tick, one run: a tick the agent ran on its own (or let go by) is not run again.
        const refusal = await c.autonomy.claim(msg.payload);
        if (refusal) {
          c.log.info("refused a job for a schedule tick that ran here already", { job_id: id, reason: refusal });
          c.emit("command.result", { job_id: id, accepted: false, error: refusal });
          return;
        }
        try {
          // Persisted before it is acknowledged: an accepted job is never lost to a restart.
          await c.state.acceptJob(msg.payload);
        } catch (err) {
          c.log.error("could not persist an accepted job", { job_id: id, error: String(err) });
          c.emit("command.result", {
            job_id: id,
            accepted: false,
            error: `the agent could not write its state dir (${c.stateDir}): free disk space or fix permissions`,
          });
          return;
        }
        c.supervisor.enqueue(msg.payload);
      }
      c.emit("command.result", { job_id: id, accepted: true });
      return;
    }
    case "command.cancel":
      if (!c.supervisor.cancel(msg.payload.job_id)) {
        c.log.info("cancel for a job that is not queued or running here", { job_id: msg.payload.job_id });
      }
      return;
    case "ack":
      await c.delivery.ack(msg.payload.ids);
      c.autonomy.acked(msg.payload.ids);
      return;
    case "error":
      c.log.warn("the server reported an error", { ...msg.payload });
      if (msg.payload.code === "invalid_message" && msg.payload.ref_id) c.delivery.dropRefused(msg.payload.ref_id);
      return;
    case "tls.fingerprints":
      await c.adoptPins(msg.payload);
      return;
    case "agent.update_available":
      c.log.info("a newer agent is available; update it with your package manager", { ...msg.payload });
      return;
    // Browse and download start in the background and return at once: the next message may be
    // the credit a running download waits for.
    case "files.list":
      c.live.filesList(msg.payload);
      return;
    case "snapshots.diff":
      c.live.diff(msg.payload);
      return;
    case "download.start":
      c.live.downloadStart(msg.payload);
      return;
    case "repo.test":
      c.live.repoTest(msg.payload);
      return;
    case "download.credit":
      c.live.credit(msg.payload.request_id, msg.payload.chunks);
      return;
    case "download.cancel":
      if (!c.live.cancel(msg.payload.request_id)) {
        c.log.debug("cancel for a download that is not running here", { request_id: msg.payload.request_id });
      }
      return;
    default: {
      const unreachable: never = msg;
      throw new Error(`unhandled message ${JSON.stringify(unreachable)}`);
    }
  }
}
