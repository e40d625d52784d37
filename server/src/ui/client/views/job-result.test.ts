import { expect, test } from "bun:test";
import { resultRows } from "./job-result.ts";

const texts = (stats: Record<string, unknown>) =>
  Object.fromEntries(resultRows(stats).rows.map((r) => [r.label, r.text]));
/** The keys no row read and that are not hidden: what "More figures" would list. */
const leftOver = (stats: Record<string, unknown>) => {
  const { used } = resultRows(stats);
  return Object.keys(stats).filter((k) => !used.has(k));
};

// restic 0.18's backup summary, as printed (snapshot id left out: it renders a link).
const BACKUP_018 = {
  message_type: "summary",
  files_new: 3,
  files_changed: 0,
  files_unmodified: 1,
  dirs_new: 1,
  dirs_changed: 2,
  dirs_unmodified: 0,
  data_blobs: 1,
  tree_blobs: 2,
  data_added: 1258291,
  data_added_packed: 409600,
  total_files_processed: 4,
  total_bytes_processed: 1024,
  total_duration: 0.943993675,
  backup_start: "2026-12-02T10:20:54.330565052Z",
  backup_end: "2026-12-02T10:20:55.274558717Z",
};

test("a backup's summary in labelled rows, without restic's raw keys or blob counts", () => {
  expect(texts(BACKUP_018)).toEqual({
    Files: "3 new, 0 changed, 1 unmodified",
    Folders: "1 new, 2 changed, 0 unmodified",
    "Data added": "1.2 MiB (stored 400 KiB)",
    "Total processed": "1.0 KiB in 4 files",
    Duration: "under 1s",
  });
  expect(leftOver(BACKUP_018)).toEqual([]);
  expect(texts({ total_files_processed: 1, total_bytes_processed: 64 })["Total processed"]).toBe("64 B in 1 file");
});

test("a restore's, forget's and a check's figures; warnings and the failure reason; unknown keys left over", () => {
  const restore = {
    message_type: "summary",
    total_files: 3,
    files_restored: 2,
    total_bytes: 9,
    bytes_restored: 6,
    files_skipped: 1,
    bytes_skipped: 3,
  };
  expect(texts(restore)).toEqual({ Restored: "2 files of 3 (6 B)", "Already in place": "1 file (3 B)" });
  expect(leftOver(restore)).toEqual([]);
  expect(texts({ snapshots_kept: 1, snapshots_removed: 2 })).toEqual({ Snapshots: "1 kept, 2 removed" });
  expect(
    texts({ check: { num_errors: 1, broken_packs: ["ab12"], suggest_repair_index: true, suggest_prune: true } }),
  ).toEqual({
    "Errors found": "1 error",
    "Damaged pack files": "ab12",
    "restic suggests": "restic repair index, then restic prune",
  });
  expect(texts({ check: { num_errors: 0 } })).toEqual({ "Errors found": "none" });
  expect(texts({ warning: "2 of 3 backup paths do not exist", failure_reason: "wrong_password" })).toEqual({
    Warning: "2 of 3 backup paths do not exist",
    Failure: "wrong password",
  });
  expect(leftOver({ files_new: 1, dry_run: false })).toEqual(["dry_run"]);
});
