#!/bin/sh
# Install the system services the test suite runs for real (ARCHITECTURE.md §3): Mosquitto, InfluxDB 1.x,
# docker-compose and Python venv support, and make sure the local PostgreSQL answers.
# Idempotent: it installs only what is missing and does nothing when everything is there.
# Needs root for installing or starting anything; otherwise it prints what is missing and exits 1.
set -eu
. "$(dirname "$0")/apt.sh"

is_root() { [ "$(id -u)" -eq 0 ]; }

# Also look in the sbin directories, which a non-root PATH usually lacks (mosquitto is /usr/sbin/mosquitto).
has_command() {
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/local/sbin/$1" ]
}

missing=""
has_command mosquitto || missing="$missing mosquitto"
has_command influxd || missing="$missing influxdb"
has_command docker-compose || missing="$missing docker-compose"
# Browser tests drive Debian's Chromium with Playwright (never a downloaded browser build).
[ -x /usr/bin/chromium ] || missing="$missing chromium"
# Debian ships venv without ensurepip unless python3-venv is installed.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$missing python3-venv"
# Committee reports print Chinese names in their PDFs with a CJK TrueType font (fpdf2 falls back to it), and
# the report tests rasterise the PDF's pages with poppler's pdftoppm.
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing="$missing fonts-wqy-microhei"
has_command pdftoppm || missing="$missing poppler-utils"
# The MQTT-over-TLS tests make a throwaway CA and broker certificate with the openssl command.
has_command openssl || missing="$missing openssl"

if [ -n "$missing" ]; then
    if ! is_root; then
        echo "missing system packages:$missing" >&2
        echo "install them with: sudo apt-get install --no-install-recommends$missing" >&2
        exit 1
    fi
    echo "installing:$missing"
    apt_get update
    # shellcheck disable=SC2086  # $missing is a word list on purpose
    apt_get install -y --no-install-recommends $missing
    case "$missing" in
        *influxdb*)
            # The package may start a system influxd on :8086. The tests start their own on free ports,
            # so that one is only in the way; stop it. The system Mosquitto on :1883 is left alone:
            # other things on the machine use it.
            service influxdb stop >/dev/null 2>&1 || true
            ;;
    esac
else
    echo "system packages present: mosquitto influxd docker-compose chromium python3-venv fonts-wqy-microhei poppler-utils"
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if ! is_root; then
        echo "PostgreSQL does not answer on 127.0.0.1:5432; start it (as root):" >&2
        echo "  pg_ctlcluster --skip-systemctl-redirect <version> main start" >&2
        exit 1
    fi
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$version" ]; then
        echo "no PostgreSQL cluster under /etc/postgresql; install postgresql" >&2
        exit 1
    fi
    echo "starting PostgreSQL $version/main"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    tries=0
    until pg_isready -q -h 127.0.0.1 -p 5432; do
        tries=$((tries + 1))
        if [ "$tries" -ge 30 ]; then
            echo "PostgreSQL did not become ready on 127.0.0.1:5432" >&2
            exit 1
        fi
        sleep 1
    done
fi
echo "PostgreSQL answers on 127.0.0.1:5432"
