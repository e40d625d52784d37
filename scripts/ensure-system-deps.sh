#!/usr/bin/env bash
# Installs the Debian packages the tests need, only when they are missing (idempotent; uses sudo
# when not root). With arguments, only those: e.g. `ensure-system-deps.sh restic` for the demo.
#   restic      the real restic the agent supervises
#   sqlite3     a real database CLI for the stdin backup tests (sqlite3 .dump as the source)
#   chromium    the web UI's browser tests
#   qemu        qemu-user-static + libc6-arm64-cross, to run the linux-arm64 executables
#   lintian     checks the .deb packages
#   nuget       a real NuGet v2 client (on mono) for the Chocolatey package test
#   unzip       checks the .nupkg archive
#   openssl     makes a test CA for the TLS tests
set -euo pipefail

present() {
  case "$1" in
    qemu) command -v qemu-aarch64-static >/dev/null 2>&1 && [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}
packages() {
  case "$1" in
    qemu) echo "qemu-user-static libc6-arm64-cross" ;;
    *) echo "$1" ;;
  esac
}

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(restic sqlite3 chromium qemu lintian nuget unzip openssl)
missing=()
for dep in "${wanted[@]}"; do
  if ! present "$dep"; then
    read -r -a pkgs <<<"$(packages "$dep")"
    missing+=("${pkgs[@]}")
  fi
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
