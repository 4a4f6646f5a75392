#!/usr/bin/env bash
# The whole test suite: lint, then pytest (unit, emulator and real local-cluster tests).
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check src tests bench
python3 -m pytest -q -p no:cacheprovider "$@"
