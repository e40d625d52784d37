import { failed, type Outcome } from "./outcome.ts";
import { parseJsonLine, ResticSnapshotList } from "./restic-json.ts";

/** A restore by id, and the hosts whose snapshots it may take (argv.ts builds it). */
export interface RestoreSource {
  snapshotId: string;
  hosts: string[];
}

/** What restic says of a snapshot: `snapshots --json` entries and `ls --json`'s first line alike. */
export interface FoundSnapshot {
  id: string;
  short_id?: string | undefined;
  hostname?: string | undefined;
}

/**
 * restic ignores `--host` for an explicit snapshot id (it filters only `latest`), so a restore by id looks
 * the snapshot up first (`snapshots --json <id>`) and this decides from restic's answer: the full
 * id to restore, or the failure that refuses it. An unknown id gives an empty list on every
 * version (0.14 exits 0 and says "no matching ID found" on stderr).
 */
export function judgeRestoreSource(stdout: string[], want: RestoreSource): Outcome | string {
  return judgeSnapshotOwner(parseJsonLine(stdout, ResticSnapshotList)?.[0], want);
}

/**
 * The same rule for any command that takes a snapshot by id (restore, browse, download): the
 * snapshot must exist and belong to one of want.hosts. `action` words the refusal's advice.
 */
export function judgeSnapshotOwner(
  found: FoundSnapshot | undefined,
  want: RestoreSource,
  action: "restore" | "browse" | "download" | "compare" | "forget" | "tag" = "restore",
): Outcome | string {
  if (!found) {
    return failed(
      -1,
      `snapshot ${want.snapshotId} does not exist in the repository: pick one from the host's snapshot list`,
      "snapshot_missing",
    );
  }
  const owner = found.hostname ?? "";
  if (!want.hosts.includes(owner)) {
    const advice =
      action === "restore"
        ? "to restore another host's snapshot, name that host as the restore's source host"
        : action === "browse" || action === "download"
          ? `to ${action} another host's snapshot from a repository both use, name that host as the source host`
          : `a host may ${action} only its own snapshots: ask the host whose snapshot it is`;
    return failed(
      -1,
      `snapshot ${found.short_id ?? want.snapshotId} belongs to host "${owner}", not to this host ` +
        `("${want.hosts.join('" or "')}"); ${advice}`,
      "other_host",
    );
  }
  return found.id;
}
