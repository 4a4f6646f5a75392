#!/usr/bin/env bash
# The whole test suite: lint, type check, then pytest (unit, emulator and real local-cluster tests).
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check src tests bench
mypy   # the package, as configured in pyproject.toml
python3 -m pytest -q -p no:cacheprovider --durations=30 "$@"
