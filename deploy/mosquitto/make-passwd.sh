#!/bin/sh
# Build the Mosquitto password file from environment variables.
#
# Usage: make-passwd.sh <password-file>
#
# Why a script instead of a committed file: the password file holds (hashed) credentials, so it must never be
# in git or baked into an image. docker compose runs this script inside the eclipse-mosquitto container every
# time the broker starts (see the mosquitto service's command), writing to /mosquitto/run/passwd in the
# container's own filesystem; changing a password is therefore "edit .env, docker compose up -d mosquitto".
# You can also run it on a host that has mosquitto_passwd (e.g. for a broker outside compose):
#   MQTT_COLLECTOR_PASSWORD=... MQTT_RULES_PASSWORD=... MQTT_DEVICE_PASSWORD=... \
#     deploy/mosquitto/make-passwd.sh deploy/mosquitto/passwd     # ignored by git (deploy/mosquitto/.gitignore)
#
# Users (the ACL in ./acl grants their topics):
#   collector  MQTT_COLLECTOR_PASSWORD  required  reads cityhall/v1/readings/#
#   rules      MQTT_RULES_PASSWORD      required  reads readings, writes cityhall/v1/alarms/#
#   device     MQTT_DEVICE_PASSWORD     required  field gateways: write cityhall/v1/readings/#
#   simulator  MQTT_SIMULATOR_PASSWORD  optional  demo profile: write cityhall/v1/readings/#
#   healthcheck  generated at random each start unless MQTT_HEALTHCHECK_PASSWORD is set; written next to the
#              password file as healthcheck-password for the compose health check.
#
# `mosquitto_passwd -b` takes the password on its command line, so it is visible to `ps` inside this container
# for a moment; the container runs nothing else yet at that point, which is why batch mode is acceptable here.
set -eu

out="${1:?usage: make-passwd.sh <password-file>}"
dir="$(dirname "$out")"
mkdir -p "$dir"

# Same placeholders the Python settings refuse (cityhall/settings.py PLACEHOLDER_SECRETS).
is_placeholder() {
    case "$1" in
        "" | changeme | change-me | secret) return 0 ;;
        *) return 1 ;;
    esac
}

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
: >"$tmp"
chmod 600 "$tmp"

add_user() {
    # add_user <username> <password> <required: yes|no>
    if is_placeholder "$2"; then
        if [ "$3" = yes ]; then
            echo "make-passwd.sh: password for MQTT user '$1' is empty or a placeholder; set it in .env" >&2
            exit 1
        fi
        echo "make-passwd.sh: no password for optional MQTT user '$1'; user not created" >&2
        return 0
    fi
    mosquitto_passwd -b "$tmp" "$1" "$2"
}

add_user collector "${MQTT_COLLECTOR_PASSWORD:-}" yes
add_user rules "${MQTT_RULES_PASSWORD:-}" yes
add_user device "${MQTT_DEVICE_PASSWORD:-}" yes
add_user simulator "${MQTT_SIMULATOR_PASSWORD:-}" no

health_password="${MQTT_HEALTHCHECK_PASSWORD:-}"
if [ -z "$health_password" ]; then
    health_password="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
fi
add_user healthcheck "$health_password" yes
umask 077
printf '%s' "$health_password" >"$dir/healthcheck-password"

mv "$tmp" "$out"
trap - EXIT
# Mosquitto drops root privileges to its own user before reading the file, and 2.x warns about (and future
# versions refuse) password files it does not own or that others can read.
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
    chown mosquitto:mosquitto "$out" "$dir/healthcheck-password"
fi
echo "make-passwd.sh: wrote $out"
