/**
 * The wire protocol version, sent in `hello`. Bump it with every schema change and add a
 * dated line below; `schema-hash.test.ts` fails until the new version's hash is recorded.
 *
 * Changelog:
 * - 1 (2026-11-30): first version: 11 agent→server and 7 server→agent messages.
 */
export const PROTOCOL_VERSION = 1;

/** Versions this code base can speak; the server refuses a `hello` outside this list. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];
