#!/bin/bash
# A job that runs a command in the image build-image.sh saved in the shared directory. Every
# node keeps its own image store (its own disk): the first job on a node loads the archive
# (a few seconds), later ones find the image there.
#   ehpc job submit NAME -- /shared/containers/job.sh cat /etc/debian_version
set -euo pipefail
image=${IMAGE:-localhost/debian:bookworm}
archive=${ARCHIVE:-/shared/containers/debian-bookworm.tar}
podman image exists "$image" || podman load --quiet --input "$archive" >/dev/null
exec podman run --rm "$image" "$@"
