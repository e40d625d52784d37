#!/usr/bin/env bash
# Installs the system packages the tests need, only when they are missing: restic, and
# chromium for the web UI tests (or only those named as arguments, e.g. `restic`).
# Idempotent; uses sudo when not root.
set -euo pipefail

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(restic chromium)
missing=()
for pkg in "${wanted[@]}"; do
  command -v "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: ${missing[*]} missing and not root: install them with apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
echo "installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
