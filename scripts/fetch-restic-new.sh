#!/usr/bin/env bash
# Fetches Debian trixie's restic (0.18) into .cache/restic-new/ without touching the system's apt
# state, so the agent's restic suites also run against a newer restic (see FIELD-NOTES).
# Prints the binary's path on stdout; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="$PWD/.cache/restic-new"
if [ -x "$dest/restic" ]; then echo "$dest/restic"; exit 0; fi
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
echo "deb $mirror trixie main" > "$d/sources.list"
mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
o=(-o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache")
apt-get "${o[@]}" update -qq >&2
(cd "$d" && apt-get "${o[@]}" download restic >&2)
dpkg-deb -x "$d"/restic_*.deb "$d/x"
mkdir -p "$dest"
cp "$d/x/usr/bin/restic" "$dest/restic"
"$dest/restic" version >&2
echo "$dest/restic"
