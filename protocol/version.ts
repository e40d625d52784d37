/**
 * The wire protocol version, sent in `hello`. Bump it with every schema change and add a
 * dated line below; `schema-hash.test.ts` fails until the new version's hash is recorded.
 *
 * Changelog:
 * - 1 (2026-11-30): first version: 11 agent→server and 7 server→agent messages.
 * - 2 (2026-12-01): hello.restic_host (the host's fixed restic host name) and the restore spec's
 *   source_host (restore another host's snapshot). Both optional: a version 1 peer is still served.
 */
export const PROTOCOL_VERSION = 2;

/** Versions this code base can speak; the server refuses a `hello` outside this list. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1, 2];
