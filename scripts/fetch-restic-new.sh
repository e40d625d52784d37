#!/usr/bin/env bash
# Debian trixie's restic (0.18), so the agent's restic suites also run against a newer restic.
exec bash "$(dirname "$0")/fetch-restic.sh" trixie "$(dpkg --print-architecture)" restic-new
