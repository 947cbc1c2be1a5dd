#!/usr/bin/env bash
# Debian's linux-source-6.12 of one version, as its tarball, fetched once
# with apt-get download (the corpus tier's base and the whole update):
#   test/corpus/fetch-source.sh VERSION TARBALL WHY
# When the archive no longer serves VERSION it says so, with WHY (what
# cannot be done without it), and fails.
set -euo pipefail
version=$1 tarball=$2 why=$3
[ -f "$tarball" ] && exit 0
echo "corpus: fetching linux-source-6.12=$version from Debian's archive"
deb=$(mktemp -d "$(dirname "$tarball")/.deb-XXXXXX")
trap 'rm -rf "$deb" "$tarball.tmp"' EXIT
if ! (cd "$deb" && apt-get download "linux-source-6.12=$version" >/dev/null 2>&1); then
  echo "corpus: FAIL: Debian's archive does not serve linux-source-6.12 $version (any more):"
  echo "corpus: $why (apt-cache policy linux-source-6.12)"
  exit 1
fi
dpkg-deb --fsys-tarfile "$deb"/*.deb | tar -xO ./usr/src/linux-source-6.12.tar.xz > "$tarball.tmp"
mv "$tarball.tmp" "$tarball"
