#!/usr/bin/env bash
# Fetches Debian's restic for one suite and architecture into .cache/<name>/restic, without
# changing the system's apt state or architectures, and prints the binary's path. Idempotent.
# Usage: fetch-restic.sh SUITE ARCH NAME   (e.g. trixie amd64 restic-new)
set -euo pipefail
suite=$1 arch=$2 name=$3
cd "$(dirname "$0")/.."
dest="$PWD/.cache/$name"
if [ -x "$dest/restic" ]; then echo "$dest/restic"; exit 0; fi
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
echo "deb [arch=$arch] $mirror $suite main" > "$d/sources.list"
mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
o=(-o "Dir::Etc::SourceList=$d/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$d/lists"
   -o "Dir::Cache=$d/cache" -o "APT::Architecture=$arch" -o "APT::Architectures=$arch")
apt-get "${o[@]}" update -qq >&2
(cd "$d" && apt-get "${o[@]}" download "restic:$arch" >&2)
dpkg-deb -x "$d"/restic_*_"$arch".deb "$d/x"
mkdir -p "$dest"
cp "$d/x/usr/bin/restic" "$dest/restic"
echo "$dest/restic"
