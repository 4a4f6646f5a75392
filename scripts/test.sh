#!/usr/bin/env bash
# The whole test suite, from a fresh Debian/Ubuntu machine (as root): install what the tests
# need, lint, then pytest (unit, cloud emulators, and real local clusters).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh "test,aws,gce,azure" all
bash scripts/install-azurite.sh   # Azure Blob emulator for the Azure provider's tests
python3 -m tests.lab build        # the cloud lab's Debian image + package mirror (cached; once)
exec bash scripts/run-tests.sh "$@"
