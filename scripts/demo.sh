#!/bin/sh
# Run the whole product on this machine with embedded defaults: nothing else to install.
set -eu
cd "$(dirname "$0")/.."
sh scripts/bootstrap.sh
exec .venv/bin/cityhall demo "$@"
