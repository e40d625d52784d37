#!/usr/bin/env bash
# Runs every test (bun test), then the restic-facing suites again against a newer restic
# (Debian trixie's 0.18) so both 0.14 and 0.18 are covered. The last line is
# "N passed, N failed", summed from bun test's own summaries.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system-deps.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

# Integration tests spawn restic, servers and agents: 120 s per test instead of the 5 s default.
# bun test writes its per-test lines and summary to stderr.
bun test --timeout 120000 "$@" 2>&1 | tee -a "$log" || status=$?

if [ $# -eq 0 ] && [ "${RF_SKIP_NEW_RESTIC:-}" != 1 ]; then
  if new=$(bash scripts/fetch-restic-new.sh); then
    echo "== again with $("$new" version | head -1)"
    RF_TEST_RESTIC="$new" bun test --timeout 120000 agent/src/restic e2e 2>&1 | tee -a "$log" || status=$?
  else
    echo "error: could not fetch the newer restic for the compatibility run" >&2
    status=1
  fi
fi

count() { grep -E "^ *[0-9]+ $1\$" "$log" | awk '{s += $1; n++} END {if (n) print s}'; }
pass=$(count pass)
fail=$(count fail)
if [ -z "$pass" ]; then
  echo "error: bun test printed no summary" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
# The failures again at the end, so a log cut to its tail still names them.
if grep -q "^(fail)" "$log"; then
  echo "failed:"
  grep "^(fail)" "$log" | cut -c1-300
fi
echo "${pass} passed, ${fail:-0} failed"
exit "$status"
