import * as v from "valibot";
import {
  AutonomousRun,
  CommandRunPayload,
  ConfigUpdatePayload,
  Id,
  objectRecord,
  ResticHost,
  ScheduleSetPayload,
  Timestamp,
} from "../../../protocol/index.ts";

/** Who this agent is on which server; written by `enroll`. */
export const Identity = v.object({
  server_url: v.pipe(v.string(), v.url("must be a URL")),
  host_id: Id,
  agent_token: v.pipe(v.string(), v.minLength(1, "must not be empty")),
  /**
   * The name this host's snapshots carry in the repository (`--host`, so hosts sharing a repository
   * touch only their own): the name it enrolled with. Fixed: a rename on the server does not
   * change it. Absent in an identity written before protocol 2; the agent then adopts the
   * machine's hostname, which its snapshots carried.
   */
  restic_host: v.optional(ResticHost),
  /**
   * Under the host policy `repositories: "first"`: the first repository this host was given,
   * the only one it uses until this is cleared on the host (`restic-fleet-agent policy --reset-pin`).
   */
  /**
   * The server certificate fingerprints this agent accepts (`sha256:<hex>`, from
   * `enroll --fingerprint`; the server may announce its next one). Empty or absent: normal CA validation.
   */
  tls_pins: v.optional(v.pipe(v.array(v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/))), v.maxLength(4))),
  /** A CA certificate (PEM, from `enroll --ca FILE`) that the server's certificate may chain to. */
  tls_ca: v.optional(v.pipe(v.string(), v.maxLength(1_000_000))),
  repository_pin: v.optional(v.object({ url: v.pipe(v.string(), v.minLength(1)), pinned_at: Timestamp })),
});
export type Identity = v.InferOutput<typeof Identity>;

/** The repository settings last received in `config.update`. Holds the repository password. */
export const StoredConfig = ConfigUpdatePayload;
export type StoredConfig = v.InferOutput<typeof StoredConfig>;

/** The last applied `schedule.set`. */
export const StoredScheduleSet = ScheduleSetPayload;
export type StoredScheduleSet = v.InferOutput<typeof StoredScheduleSet>;

/** schedule id → the RFC 3339 `scheduled_at` of its last fire that reached a connection. */
export const LastFires = objectRecord(Id, Timestamp);
export type LastFires = v.InferOutput<typeof LastFires>;

/**
 * accepted → running → finished. A finished job stays until the server acks its job.finished, so a
 * re-sent command.run for it is answered, not run twice.
 */
export const JOB_STATES = ["accepted", "running", "finished"] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A `command.run` the agent accepted and has not finished yet. */
export const AcceptedJob = v.object({
  command: CommandRunPayload,
  state: v.picklist(JOB_STATES),
  accepted_at: Timestamp,
  /** A backup the agent started on its own while the link was down: what its job.started says. */
  autonomous: v.optional(AutonomousRun),
});
export type AcceptedJob = v.InferOutput<typeof AcceptedJob>;

/** An array, not an object keyed by job id, so the queue order survives whatever the ids look like. */
export const AcceptedJobs = v.object({ jobs: v.array(AcceptedJob) });
export type AcceptedJobs = v.InferOutput<typeof AcceptedJobs>;

/** One state file: its name in the state dir, what it holds, and what a user should do if it is lost. */
export interface StateFileSpec {
  name: string;
  what: string;
  ifLost: string;
}

export const STATE_FILES = {
  identity: {
    name: "identity.json",
    what: "the agent's identity",
    ifLost: "enroll the agent again: restic-fleet-agent enroll --server URL --token T",
  },
  config: {
    name: "config.json",
    what: "the repository config",
    ifLost: "nothing to do: the server sends the repository config again when the agent connects",
  },
  schedules: {
    name: "schedules.json",
    what: "the schedule set",
    ifLost: "nothing to do: the server sends the schedule set again when the agent connects",
  },
  lastFires: {
    name: "last-fire.json",
    what: "the last fire time of each schedule",
    ifLost: "ticks missed while the agent was down will not be fired at start; run those backups now if needed",
  },
  ledger: {
    name: "fire-ledger.json",
    what: "the ledger of fires",
    ifLost:
      "nothing to do, mostly: a tick the server sends again may run a second backup, and the agent counts its link as down since it started",
  },
  jobs: {
    name: "jobs.json",
    what: "the accepted jobs",
    ifLost: "jobs accepted before the restart will not run; check the jobs in the server UI and run them again",
  },
} as const satisfies Record<string, StateFileSpec>;

export type StateFileKey = keyof typeof STATE_FILES;
