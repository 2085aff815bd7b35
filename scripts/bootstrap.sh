#!/bin/sh
# Create .venv (or $VENV) with Python 3.11 and install the locked dependencies (requirements.lock, hash-checked)
# with a pinned installer (requirements-installer.lock), then the project itself. Re-runs are cheap: nothing is reinstalled unless the lock file changed.
set -eu
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            PYTHON=$candidate
            break
        fi
    done
fi
if [ -z "$PYTHON" ]; then
    echo "CityHall Ops needs Python 3.11 (python3.11 or python3 on PATH); set PYTHON=/path/to/python3.11" >&2
    exit 1
fi

if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        . scripts/apt.sh
        apt_get update -qq && apt_get install -y -qq --no-install-recommends python3-venv
    else
        echo "Python venv support is missing: sudo apt-get install python3-venv" >&2
        exit 1
    fi
fi

VENV=${VENV:-.venv}
stamp=$VENV/.installed
if [ ! -f "$stamp" ] || [ requirements.lock -nt "$stamp" ] || [ requirements-installer.lock -nt "$stamp" ] ||
    [ pyproject.toml -nt "$stamp" ]; then
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    # First the pinned installer (requirements-installer.lock says why), then the lock with it. The lock is the
    # whole tree, so pip installs exactly its files (--no-deps: nothing is resolved against what the registry
    # serves today), and `pip check` proves the tree is complete and consistent.
    echo "installing the pinned installer and the locked dependencies into $VENV ..."
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
        -r requirements-installer.lock
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -e .
    "$VENV/bin/pip" check --disable-pip-version-check
    touch "$stamp"
fi
