#!/bin/bash
# Build a Debian 12 image on the cluster, as the cluster user, from the Debian mirror the node
# uses (no registry needed), and save it to the shared directory for every node's jobs.
# Needs `--packages podman,mmdebstrap` (or `ehpc cluster install NAME podman mmdebstrap`).
#   usage: build-image.sh [IMAGE] [ARCHIVE]
set -euo pipefail
image=${1:-localhost/debian:bookworm}
archive=${2:-/shared/containers/debian-bookworm.tar}
here=$(cd "$(dirname "$0")" && pwd)
# The node's own Debian mirror: the first bookworm main source apt knows.
mirror=${MIRROR:-$(apt-get indextargets --format '$(REPO_URI)' 'Codename: bookworm' \
                   'Component: main' 'Created-By: Packages' | grep -v security | head -n 1)}
work=$(mktemp -d /var/tmp/ehpc-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$here/Containerfile" "$work/"
# minbase: apt and dpkg only; INCLUDE=pkg,pkg adds what jobs need.
include=()
[ -z "${INCLUDE:-}" ] || include=(--include="$INCLUDE")
mmdebstrap --quiet --mode=unshare --variant=minbase "${include[@]}" \
  --customize-hook='rm -f "$1"/etc/resolv.conf "$1"/etc/hostname' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  bookworm "$work/debian-rootfs.tar" "${mirror:-http://deb.debian.org/debian}"
podman build --quiet --tag "$image" "$work" >/dev/null
mkdir -p "$(dirname "$archive")"
podman save --quiet --output "$archive.tmp" "$image"
mv -f "$archive.tmp" "$archive"
echo "$image saved to $archive"
