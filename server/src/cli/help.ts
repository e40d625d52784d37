export const MAIN_HELP = `restic-fleet-server: manage restic backups for a fleet of hosts

Usage:
  restic-fleet-server serve [--listen HOST:PORT] [--data-dir DIR] [--log-level LEVEL] [--trusted-proxy CIDR]...
                            [--tls self-signed [--tls-name NAME]... | --tls-cert FILE --tls-key FILE]
                            [--tls-next-cert FILE] [--allow-insecure-agents]
  restic-fleet-server tls rotate [--switch] [--tls-name NAME]... [--data-dir DIR]
  restic-fleet-server user add NAME [--role viewer|admin] [--data-dir DIR]
  restic-fleet-server user passwd NAME [--data-dir DIR]
  restic-fleet-server user list [--data-dir DIR]
  restic-fleet-server api-token create --user NAME [--name LABEL] [--data-dir DIR]
  restic-fleet-server enrollment-token create [--uses N] [--expires 24h] [--label KEY=VALUE]... [--data-dir DIR]
  restic-fleet-server enrollment-token list [--data-dir DIR]
  restic-fleet-server enrollment-token revoke ID [--data-dir DIR]
  restic-fleet-server config export [FILE] --server URL [--token T]
  restic-fleet-server config diff FILE --server URL [--token T]
  restic-fleet-server config apply FILE --server URL [--token T]
  restic-fleet-server version

Run any command with --help for details. user, api-token and enrollment-token act on the
database of an existing data directory (one 'serve' has created): on a directory without one they
refuse and create nothing. They work while the server runs. config talks to a running server
over HTTP instead, with an admin's API token (docs/fleet-config.md).

Environment:
  RF_LISTEN          same as --listen (default 127.0.0.1:8080)
  RF_DATA_DIR        same as --data-dir (default /var/lib/restic-fleet-server)
  RF_LOG_LEVEL       debug, info, warn or error (default info)
  RF_TRUSTED_PROXY   same as --trusted-proxy, comma-separated (e.g. 127.0.0.1/32,::1)
  RF_TLS, RF_TLS_NAME, RF_TLS_CERT, RF_TLS_KEY, RF_TLS_NEXT_CERT
                     same as --tls, --tls-name (comma-separated), --tls-cert, --tls-key, --tls-next-cert
  RF_ALLOW_INSECURE_AGENTS=1  same as --allow-insecure-agents
  RF_ADMIN_PASSWORD  the first admin's password on first start (else one is generated and printed once)
  RF_PASSWORD        the password for 'user add' and 'user passwd' (else read from stdin, else generated)
  RF_AGENT_LATEST_VERSION, RF_AGENT_PACKAGE_URL
                     the newest agent release and where to get it: older agents are told on connect
  RF_LOG_BYTES_PER_JOB, RF_LOG_BYTES_PER_HOST
                     the log one job, and all of one host's jobs, may store (default 16M and 256M)
  RF_METRICS_TOKEN   when set (32+ characters), GET /metrics needs it as a bearer token
  RF_SERVER, RF_TOKEN same as --server and --token for 'config' (RF_TOKEN keeps the token out of ps)
  RF_SECRET_*        secrets a fleet-config document names as {"env": "RF_SECRET_..."}; serve reads
                     no other variable for it
  RF_ALERT_BATCH_SECONDS
                     alerts firing within this many seconds go to a channel as one message (default 30)
  RF_KEEP_JOB_LOGS_DAYS, RF_KEEP_JOBS_DAYS
                     days a finished job's log lines, and the job, are kept (default 30 and 400; jobs
                     at least 35, logs not longer than jobs); the newest job of each kind is kept

Exit codes: 0 ok, 1 runtime error, 2 usage error.`;

export const HELP: Record<string, string> = {
  serve: `Usage: restic-fleet-server serve [--listen HOST:PORT] [--data-dir DIR] [--log-level LEVEL]
                                 [--trusted-proxy CIDR]...
                                 [--tls self-signed [--tls-name NAME]... | --tls-cert FILE --tls-key FILE]
                                 [--tls-next-cert FILE] [--allow-insecure-agents]

Runs the server: HTTP API, web UI and agent gateway on one port. On an empty data directory it
creates the database, the secret key (mode 0600) and an 'admin' user whose password comes from
RF_ADMIN_PASSWORD or is generated and printed once. SIGTERM or SIGINT stops it gracefully.

One server per data directory: serve locks it (restic-fleet-server.lock, with its pid in
restic-fleet-server.pid), and a second serve on the same directory exits 1 naming the pid that
holds it. The kernel drops the lock when the server exits, even when killed, so no stale lock
is ever left to delete.

--trusted-proxy CIDR (repeatable; or RF_TRUSTED_PROXY, comma-separated) names your reverse
proxy, e.g. 127.0.0.1/32 or ::1 when it runs on this machine, 10.0.0.0/8, or fd00::/8. From a
peer in these ranges X-Forwarded-For is believed: the client is its rightmost address that is
not itself a trusted proxy. From any other peer the header is ignored and the peer is the client.
Without it, every client behind a proxy shares the proxy's address, and its login throttle.

Logins are throttled per user name and address, and per address: after 5 failures for one name
from one address (20 from one address in all), each further attempt waits 1 s, 2 s, 4 s, ... up
to 15 min (429 with Retry-After). Attempts still being checked count. Failures from one address
never delay a login from another. Logins and failed logins go to the audit log.

TLS: --tls self-signed makes a certificate once in DIR/tls (ECDSA P-256) for the --tls-name
names (default: this machine's hostname, localhost, 127.0.0.1, ::1) and prints its fingerprint,
which agents pin with 'enroll --fingerprint'. --tls-cert/--tls-key serve your own PEM files.
SIGHUP re-reads them without dropping a connection; --tls-next-cert FILE (self-signed:
DIR/tls/next-cert.pem) is announced to pinned agents as the next certificate. GET
/api/v1/server-info shows the fingerprints. Over plain ws://, repository secrets go only to
agents on this machine, unless --allow-insecure-agents.`,
  tls: `Usage: restic-fleet-server tls rotate [--switch] [--tls-name NAME]... [--data-dir DIR]

For --tls self-signed. 'tls rotate' makes the next certificate (DIR/tls/next-cert.pem; the names
of the current one unless --tls-name); a SIGHUP announces it to pinned agents, which accept both
from then on. 'tls rotate --switch' makes it the current one (the old one stays as
previous-cert.pem); a SIGHUP serves it.`,
  user: `Usage:
  restic-fleet-server user add NAME [--role viewer|admin]   create a user (role viewer by default:
                                                            it only reads; --role admin may change things)
  restic-fleet-server user passwd NAME                      set a new password (ends the user's sessions)
  restic-fleet-server user list                             list users, tab-separated: name, role, created

All of them take --data-dir DIR (RF_DATA_DIR).

The password comes from RF_PASSWORD, or the first line of stdin when it is not a terminal;
otherwise one is generated and printed on stdout. Passwords are never taken as arguments.`,
  "api-token": `Usage: restic-fleet-server api-token create --user NAME [--name LABEL] [--data-dir DIR]

Creates an API token for the user (it has the user's role) and prints it on stdout, once.
Send it as 'Authorization: Bearer <token>'.`,
  "enrollment-token": `Usage:
  restic-fleet-server enrollment-token create [--uses N] [--expires DURATION] [--label KEY=VALUE]...
  restic-fleet-server enrollment-token list
  restic-fleet-server enrollment-token revoke ID

All of them take --data-dir DIR (RF_DATA_DIR).

create makes a token that agents exchange for their own agent token ('restic-fleet-agent
enroll'). --uses N (default 1) limits how many hosts may enroll with it; --expires (default 24h)
takes s, m, h or d, e.g. 30m or 7d. --label env=prod (repeatable) gives every host enrolled with
it that label: agents cannot choose their own. Keys are 1-63 of a-z 0-9 _ . - (starting with a
letter or digit), values 0-63 of A-Z a-z 0-9 _ . -. The token is printed on stdout, once.

list prints every token, newest first, tab-separated with a header line: its ID, labels, uses
left, expiry, who made it (a user id, or cli), when, and when it was revoked (- if not). Never
the token itself: only its hash is kept.

revoke ID stops the token from enrolling any more hosts; hosts enrolled with it keep working.`,
  config: `Usage:
  restic-fleet-server config export [FILE] --server URL [--token T]   the fleet's config, to FILE or stdout
  restic-fleet-server config diff FILE --server URL [--token T]       what applying FILE would change
  restic-fleet-server config apply FILE --server URL [--token T]      apply FILE; prints what changed

The repositories, policies, notification channels and alert rules of a running server as one
document (GET/PUT /api/v1/fleet-config; docs/fleet-config.md). FILE is YAML, or JSON when it
ends in .json; export to stdout writes YAML. The document is the whole config: an object it
leaves out is deleted, so run diff first. apply changes all of it or nothing.

Secrets are never exported. In the document they are {env: RF_SECRET_NAME}, read from the
SERVER's environment (server.env for the .deb), never the client's; one left out is kept.

--server URL (or RF_SERVER), e.g. https://fleet.example.com:8443. The token (an admin's API
token; a viewer's may export) comes from RF_TOKEN, or --token T, which other users of the
machine can see in the process list. Exit code 1 when the server cannot be reached or refuses
(401: the token; 400: the document, naming the field).`,
};
