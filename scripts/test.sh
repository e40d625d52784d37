#!/usr/bin/env bash
# Runs every test (bun test) after making sure restic and chromium are there.
# The last line is "N passed, N failed", taken from bun test's own summary.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system-deps.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# bun test writes its per-test lines and summary to stderr.
bun test "$@" 2>&1 | tee "$log" || status=$?

pass=$(grep -Eo '^ *[0-9]+ pass$' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
fail=$(grep -Eo '^ *[0-9]+ fail$' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
if [ -z "$pass" ]; then
  echo "error: bun test printed no summary" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
echo "${pass} passed, ${fail:-0} failed"
exit "$status"
