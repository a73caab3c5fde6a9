#!/usr/bin/env bash
# Remove the balance station (or the clinic's hub) installed by systemd/install.sh (--hub).
#
#   sudo systemd/uninstall.sh            remove the software; KEEP the data, the configuration,
#                                        the certificates and the user (a later install reuses them)
#   sudo systemd/uninstall.sh --purge    also delete /var/lib/balance-station or /var/lib/balance-hub
#                                        (ALL PATIENT DATA and backups), /etc/balance-station and the
#                                        user; the hub's PostgreSQL database is kept (dropdb balance)
#   systemd/uninstall.sh --root DIR      the same under DIR, stopping nothing (tests)
#
# Debian packages (nginx, python3-lgpio, postgresql, ...) stay installed; nginx's example site is
# not restored.
set -euo pipefail

PROG=uninstall.sh
ROOT=""
PURGE=0

die() { echo "$PROG: $*" >&2; exit 1; }
say() { echo "$PROG: $*"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$2; shift 2 ;;
        --root=*) ROOT=${1#--root=}; shift ;;
        --purge) PURGE=1; shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
LIVE=1
if [ -n "$ROOT" ]; then
    LIVE=0
    [ -d "$ROOT" ] || die "--root $ROOT: no such directory"
    ROOT=$(cd "$ROOT" && pwd)
    [ "$ROOT" != / ] || ROOT=""
fi
[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0)"

r() { printf '%s%s' "$ROOT" "$1"; }
remove() {
    local path
    for path in "$@"; do
        if [ -e "$(r "$path")" ] || [ -L "$(r "$path")" ]; then
            rm -rf "$(r "$path")"
            say "removed $path"
        fi
    done
}

UNITS=(balance-station.service balance-station-backup.timer balance-station-backup.service
       balance-station-hub.service balance-station-hub-backup.timer balance-station-hub-backup.service)
ENABLED=(balance-station-backup.timer balance-station.service balance-station-hub-backup.timer balance-station-hub.service)
if [ "$LIVE" -eq 1 ]; then
    systemctl disable --now "${ENABLED[@]}" 2>/dev/null || true
    systemctl stop balance-station-backup.service balance-station-hub-backup.service 2>/dev/null || true
else
    systemctl --root="$ROOT" disable "${ENABLED[@]}" >/dev/null 2>&1 || true
fi
for unit in "${UNITS[@]}"; do
    remove "/etc/systemd/system/$unit"
done
remove /etc/systemd/system/balance-station.service.d/hub.conf   # written by install.sh for [hub] url
rmdir "$(r /etc/systemd/system/balance-station.service.d)" 2>/dev/null || true

remove /etc/nginx/sites-enabled/balance-station /etc/nginx/sites-available/balance-station
remove /usr/local/bin/balance-station /opt/balance-station
remove /etc/modules-load.d/balance-station.conf /etc/udev/rules.d/60-balance-station.rules

for boot in /boot/firmware /boot; do
    config=$(r "$boot/config.txt")
    if [ -f "$config" ] && grep -qxF "# >>> balance-station (systemd/install.sh)" "$config"; then
        # Remove the block install.sh appended (and the blank line before it).
        awk '
            function flush() { if (hold) print held; hold = 0 }
            /^# >>> balance-station \(systemd\/install\.sh\)$/ { if (hold && held != "") print held; hold = 0; skip = 1; next }
            skip { if ($0 == "# <<< balance-station") skip = 0; next }
            { flush(); held = $0; hold = 1 }
            END { flush() }
        ' "$config" >"$config.new"
        cat "$config.new" >"$config"
        rm -f "$config.new"
        say "removed the I2C include from $boot/config.txt"
    fi
    remove "$boot/balance-station.txt"
done

HUB=0
[ ! -e "$(r /etc/balance-station/hub.toml)" ] || HUB=1
if [ "$PURGE" -eq 1 ]; then
    remove /var/lib/balance-station /var/lib/balance-hub /etc/balance-station \
        /etc/sysusers.d/balance-station.conf /etc/sysusers.d/balance-station-hub.conf
    for account in balance-station balance-hub; do
        if grep -q "^$account:" "$(r /etc/passwd)" 2>/dev/null; then
            if [ -n "$ROOT" ]; then userdel --prefix "$ROOT" "$account"; else userdel "$account"; fi
            say "removed the user $account"
        fi
        if grep -q "^$account:" "$(r /etc/group)" 2>/dev/null; then
            if [ -n "$ROOT" ]; then groupdel --prefix "$ROOT" "$account"; else groupdel "$account"; fi
        fi
    done
    if [ "$HUB" -eq 1 ]; then
        say "kept the hub's PostgreSQL database: to delete it too (ALL THE CLINIC'S RECORDS), sudo -u postgres dropdb balance && sudo -u postgres dropuser balance-hub"
    fi
elif [ "$HUB" -eq 1 ]; then
    say "kept the hub's data (/var/lib/balance-hub and its PostgreSQL database balance), the configuration and certificates (/etc/balance-station) and the user balance-hub; --purge deletes all but the database"
else
    say "kept the data (/var/lib/balance-station), the configuration and certificates (/etc/balance-station) and the user balance-station; --purge deletes them"
fi

if [ "$LIVE" -eq 1 ]; then
    systemctl daemon-reload
    if systemctl is-active --quiet nginx.service; then
        systemctl reload nginx.service || true
    fi
fi
