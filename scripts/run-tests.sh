#!/usr/bin/env bash
# The whole test suite: lint, type check, then pytest (unit, emulator and real local-cluster tests).
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check src tests bench
mypy   # the package, as configured in pyproject.toml
# Two workers (pytest-xdist), a module whole on one (tests/conftest.py groups them): the tests
# mostly wait on clusters booting and daemons answering, so two nearly halve the time on two cores.
python3 -m pytest -q -p no:cacheprovider -n 2 --dist loadgroup --durations=30 "$@"
