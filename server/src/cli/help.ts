export const MAIN_HELP = `restic-fleet-server: manage restic backups for a fleet of hosts

Usage:
  restic-fleet-server serve [--listen HOST:PORT] [--data-dir DIR] [--log-level LEVEL]
  restic-fleet-server user add NAME [--role admin|viewer] [--data-dir DIR]
  restic-fleet-server user passwd NAME [--data-dir DIR]
  restic-fleet-server user list [--data-dir DIR]
  restic-fleet-server api-token create --user NAME [--name LABEL] [--data-dir DIR]
  restic-fleet-server enrollment-token create [--uses N] [--expires 24h] [--data-dir DIR]
  restic-fleet-server version

Run any command with --help for details. user, api-token and enrollment-token act on the
database of an existing data directory (one 'serve' has created): on a directory without one they
refuse and create nothing. They work while the server runs.

Environment:
  RF_LISTEN          same as --listen (default 127.0.0.1:8080)
  RF_DATA_DIR        same as --data-dir (default /var/lib/restic-fleet-server)
  RF_LOG_LEVEL       debug, info, warn or error (default info)
  RF_ADMIN_PASSWORD  the first admin's password on first start (else one is generated and printed once)
  RF_PASSWORD        the password for 'user add' and 'user passwd' (else read from stdin, else generated)
  RF_AGENT_LATEST_VERSION, RF_AGENT_PACKAGE_URL
                     the newest agent release and where to get it: older agents are told on connect

Exit codes: 0 ok, 1 runtime error, 2 usage error.`;

export const HELP: Record<string, string> = {
  serve: `Usage: restic-fleet-server serve [--listen HOST:PORT] [--data-dir DIR] [--log-level LEVEL]

Runs the server: HTTP API, web UI and agent gateway on one port. On an empty data directory it
creates the database, the secret key (mode 0600) and an 'admin' user whose password comes from
RF_ADMIN_PASSWORD or is generated and printed once. SIGTERM or SIGINT stops it gracefully.

One server per data directory: serve locks it (restic-fleet-server.lock, with its pid in
restic-fleet-server.pid), and a second serve on the same directory exits 1 naming the pid that
holds it. The kernel drops the lock when the server exits, even when killed, so no stale lock
is ever left to delete.`,
  user: `Usage:
  restic-fleet-server user add NAME [--role admin|viewer]   create a user (role admin by default)
  restic-fleet-server user passwd NAME                      set a new password (ends the user's sessions)
  restic-fleet-server user list                             list users

The password comes from RF_PASSWORD, or the first line of stdin when it is not a terminal;
otherwise one is generated and printed on stdout. Passwords are never taken as arguments.`,
  "api-token": `Usage: restic-fleet-server api-token create --user NAME [--name LABEL]

Creates an API token for the user (it has the user's role) and prints it on stdout, once.
Send it as 'Authorization: Bearer <token>'.`,
  "enrollment-token": `Usage: restic-fleet-server enrollment-token create [--uses N] [--expires DURATION]

Creates a token that agents exchange for their own agent token ('restic-fleet-agent enroll').
--uses N (default 1) limits how many hosts may enroll with it; --expires (default 24h) takes
s, m, h or d, e.g. 30m or 7d. The token is printed on stdout, once.`,
};
