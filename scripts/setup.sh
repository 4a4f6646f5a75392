#!/usr/bin/env bash
# Set up this machine (Debian/Ubuntu, as root): system packages and ElasticHPC itself.
# Usage: bash scripts/setup.sh [EXTRAS [all]]   e.g. "test,aws,gce,azure" all
#   EXTRAS: the Python extras; all: every feature's system packages, not only the main job's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-packages.sh "${2:-}"
if ! python3 -m pip --version >/dev/null 2>&1; then
  apt-get install -y -q --no-install-recommends python3-pip
fi
target="."
[ -n "${1:-}" ] && target=".[$1]"
# Debian's own python3 refuses system-wide pip installs (PEP 668); this is a machine set up for
# ElasticHPC, so install there anyway when that is the only way.
python3 -m pip install -q -e "$target" 2>/dev/null \
  || python3 -m pip install -q --break-system-packages -e "$target"
