# Sourced by the install scripts: apt-get that waits for another apt or dpkg (an unattended upgrade, a second
# install) to let go of its locks instead of failing at once with "Could not get lock".
# dpkg's own locks are waited for by apt (DPkg::Lock::Timeout); `apt-get update` takes the package lists' lock,
# which that option does not cover, so a locked update is retried until the lock is free.
APT_LOCK_WAIT_S=${APT_LOCK_WAIT_S:-900}

apt_get() {
    waited=0
    while :; do
        log=$(mktemp)
        if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$APT_LOCK_WAIT_S" "$@" 2>"$log"; then
            cat "$log" >&2
            rm -f "$log"
            return 0
        fi
        if ! grep -q 'Could not get lock\|Unable to lock' "$log" || [ "$waited" -ge "$APT_LOCK_WAIT_S" ]; then
            cat "$log" >&2
            rm -f "$log"
            return 1
        fi
        rm -f "$log"
        [ "$waited" -eq 0 ] && echo "another apt or dpkg holds its lock; waiting for it (up to ${APT_LOCK_WAIT_S} s)" >&2
        sleep 5
        waited=$((waited + 5))
    done
}
