#!/usr/bin/env bash
# Installs the system packages the tests need, only when they are missing: restic, and
# chromium for the web UI tests. Idempotent; uses sudo when not root.
set -euo pipefail

missing=()
command -v restic >/dev/null 2>&1 || missing+=(restic)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
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
