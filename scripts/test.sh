#!/bin/sh
# The README's test command: install what the tests need, prove the lock installs from nothing, then lint,
# type-check and run every test against real services (throwaway Mosquitto and InfluxDB, the local PostgreSQL).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-system-deps.sh
sh scripts/bootstrap.sh
# An existing .venv hides install failures: build a new one exactly as bootstrap does for a fresh clone, from
# the same lock, and fail the run if it cannot be built or is inconsistent.
echo "== install from nothing (a new venv, the way bootstrap builds it)"
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
VENV="$fresh/venv" sh scripts/bootstrap.sh
"$fresh/venv/bin/cityhall" --help >/dev/null
rm -rf "$fresh"
echo "== ruff"; .venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict)"; .venv/bin/mypy
# Three worker processes on a 2-core machine: many tests wait on brokers, databases and browsers, so a third
# keeps both cores busy (9.6 min against 13 for one process, measured with other work running beside it).
# Tests wait on conditions, never on the machine being quiet. PYTEST_WORKERS=0 runs in this process.
echo "== pytest"; exec .venv/bin/pytest -n "${PYTEST_WORKERS:-3}" --dist worksteal "$@"
