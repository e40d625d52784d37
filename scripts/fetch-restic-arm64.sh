#!/usr/bin/env bash
# Debian bookworm's arm64 restic, for the arm64 smoke test under qemu.
exec bash "$(dirname "$0")/fetch-restic.sh" bookworm arm64 restic-arm64
