#!/bin/sh
# The README's test command: install what the tests need, then lint, type-check and run every test
# against real services (throwaway Mosquitto and InfluxDB, the local PostgreSQL).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-system-deps.sh
sh scripts/bootstrap.sh
echo "== ruff"; .venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (strict)"; .venv/bin/mypy
echo "== pytest"; exec .venv/bin/pytest "$@"
