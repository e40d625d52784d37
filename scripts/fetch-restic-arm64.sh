#!/usr/bin/env bash
# Fetches Debian bookworm's arm64 restic into .cache/restic-arm64/ (without changing the
# system's apt state or architectures), for the arm64 smoke test under qemu. Prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="$PWD/.cache/restic-arm64"
if [ -x "$dest/restic" ]; then echo "$dest/restic"; exit 0; fi
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
echo "deb [arch=arm64] $mirror bookworm main" > "$d/sources.list"
mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
o=(-o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$d/lists"
   -o "Dir::Cache=$d/cache" -o APT::Architecture=arm64 -o APT::Architectures=arm64)
apt-get "${o[@]}" update -qq >&2
(cd "$d" && apt-get "${o[@]}" download restic:arm64 >&2)
dpkg-deb -x "$d"/restic_*_arm64.deb "$d/x"
mkdir -p "$dest"
cp "$d/x/usr/bin/restic" "$dest/restic"
echo "$dest/restic"
