import { defaultPolicyPath } from "../policy/load-policy.ts";

export const EXIT = { ok: 0, error: 1, usage: 2, notEnrolled: 3, revoked: 4 } as const;

export const MAIN_HELP = `restic-fleet-agent: runs this host's restic backups for a Restic Fleet server

Usage:
  restic-fleet-agent enroll --server URL --token TOKEN [--hostname NAME] [--state-dir DIR] [--force]
                            [--fingerprint sha256:HEX | --ca FILE] [--insecure] [--log-level LEVEL]
  restic-fleet-agent run [--state-dir DIR] [--restic PATH] [--policy FILE] [--no-remote-hooks] [--log-level LEVEL]
                         [--hostname NAME] [--fingerprint sha256:HEX | --ca FILE] [--insecure]
  restic-fleet-agent policy [--policy FILE] [--no-remote-hooks] [--state-dir DIR] [--reset-pin]
  restic-fleet-agent status [--state-dir DIR] [--json]
  restic-fleet-agent version

Run any command with --help for details.

Environment (each flag has one):
  RF_SERVER, RF_ENROLL_TOKEN  server URL and enrollment token ('run' enrolls first when both are set
                              and the agent has no identity yet)
  RF_SERVER_FINGERPRINT, RF_CA, RF_INSECURE=1
                              --fingerprint, --ca, --insecure (for enroll, and run when it enrolls)
  RF_STATE_DIR                --state-dir (default ${defaultStateDir()})
  RF_RESTIC                   --restic (default: restic on PATH)
  RF_POLICY                   --policy (default ${defaultPolicyPath()}; without that file,
                              the built-in policy: no remote hooks, restores into the staging folder
                              only, the first repository only)
  RF_NO_REMOTE_HOOKS=1        --no-remote-hooks
  RF_LOG_LEVEL                --log-level: debug, info, warn or error (default info)

Exit codes:
  0  ok (run: stopped by SIGTERM/SIGINT)
  1  runtime error (server unreachable during enroll, unreadable state, ...)
  2  usage error
  3  not enrolled: run 'restic-fleet-agent enroll' first
  4  the server refused this agent's token (host revoked): enroll again`;

export const HELP: Record<string, string> = {
  enroll: `Usage: restic-fleet-agent enroll --server URL --token TOKEN [--state-dir DIR] [--hostname NAME] [--force]
                                [--fingerprint sha256:HEX | --ca FILE] [--insecure] [--log-level LEVEL]

Exchanges a one-time enrollment token (from 'restic-fleet-server enrollment-token create' or the
web UI) for this host's own agent token, and stores it in the state dir (mode 0600).
--force replaces an existing identity (the old host stays on the server until revoked there).

--hostname NAME (default: this machine's hostname) is the host's name on the server and, fixed
for good, its restic host name: every snapshot it makes carries it (restic --host), and its
retention, snapshot list and restores touch only snapshots of that name. Give each host sharing a
repository its own name. Renaming the host on the server later does not change it.

--fingerprint sha256:HEX (RF_SERVER_FINGERPRINT; from GET /api/v1/server-info or the Add hosts
page) pins the server's certificate: it is checked before the token is sent, and from then on the
agent talks only to a server presenting it (or the next one the server announces). Without it, the
certificate must validate against the system's CAs, NODE_EXTRA_CA_CERTS, or --ca FILE (RF_CA).
Plain http:// to a server that is not this machine is refused unless --insecure (RF_INSECURE=1):
the tokens and the repository passwords would cross the network unencrypted.`,
  run: `Usage: restic-fleet-agent run [--state-dir DIR] [--restic PATH] [--policy FILE] [--no-remote-hooks] [--log-level LEVEL]
                             [--hostname NAME] [--fingerprint sha256:HEX | --ca FILE] [--insecure]

Runs in the foreground, as a service manager expects: connects to the server (reconnecting with
backoff from 1 s to 60 s), applies the schedules it sends, fires them, and runs restic jobs one at
a time. Logs are JSON lines on stderr, with secrets masked. SIGTERM or SIGINT stops it cleanly;
a job interrupted that way is cancelled.

The host policy (--policy FILE, RF_POLICY, default ${defaultPolicyPath()}) limits what any
server may ask of this host: remote hooks, restore targets, backup paths and repositories. A job
outside it fails and names the setting. A policy file that does not parse stops the agent.
--no-remote-hooks refuses pre/post hooks and stdin commands (a backup of a command's output)
whatever the policy file says.

With RF_SERVER and RF_ENROLL_TOKEN set and no identity in the state dir, run enrolls first;
--hostname, --fingerprint, --ca and --insecure then mean what they mean for enroll (see
'restic-fleet-agent enroll --help'), and are ignored once enrolled.`,
  policy: `Usage: restic-fleet-agent policy [--policy FILE] [--no-remote-hooks] [--state-dir DIR] [--reset-pin]

Prints the host policy in force (the file's keys over the built-in defaults) and, under
repositories "first", the repository this host is pinned to. --reset-pin (with the agent stopped) clears
that pin: the next repository the server sets becomes the pinned one. Restart the agent after changing the file.`,
  status: `Usage: restic-fleet-agent status [--state-dir DIR] [--json]

Prints the identity, server, connection state, schedule version, next fire per schedule, queued
and running jobs, outbox depth, and any state file problems. It reads the state dir only.`,
  version: "Usage: restic-fleet-agent version\n\nPrints the agent version.",
};

export { defaultPolicyPath };

export function defaultStateDir(): string {
  if (process.platform === "win32") {
    return `${process.env.ProgramData ?? "C:\\ProgramData"}\\restic-fleet-agent`;
  }
  return "/var/lib/restic-fleet-agent";
}
