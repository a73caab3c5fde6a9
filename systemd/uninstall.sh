#!/usr/bin/env bash
# Remove the balance station installed by systemd/install.sh.
#
#   sudo systemd/uninstall.sh            remove the software; KEEP the data, the configuration,
#                                        the certificates and the user (a later install reuses them)
#   sudo systemd/uninstall.sh --purge    also delete /var/lib/balance-station (ALL PATIENT DATA and
#                                        backups), /etc/balance-station and the user
#   systemd/uninstall.sh --root DIR      the same under DIR, stopping nothing (tests)
#
# Debian packages (nginx, python3-lgpio, ...) stay installed; nginx's example site is not restored.
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
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

UNITS=(balance-station.service balance-station-backup.timer balance-station-backup.service)
if [ "$LIVE" -eq 1 ]; then
    systemctl disable --now balance-station-backup.timer balance-station.service 2>/dev/null || true
    systemctl stop balance-station-backup.service 2>/dev/null || true
else
    systemctl --root="$ROOT" disable balance-station-backup.timer balance-station.service >/dev/null 2>&1 || true
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

if [ "$PURGE" -eq 1 ]; then
    remove /var/lib/balance-station /etc/balance-station /etc/sysusers.d/balance-station.conf
    if grep -q '^balance-station:' "$(r /etc/passwd)" 2>/dev/null; then
        if [ -n "$ROOT" ]; then
            userdel --prefix "$ROOT" balance-station
        else
            userdel balance-station
        fi
        say "removed the user balance-station"
    fi
    if grep -q '^balance-station:' "$(r /etc/group)" 2>/dev/null; then
        if [ -n "$ROOT" ]; then groupdel --prefix "$ROOT" balance-station; else groupdel balance-station; fi
    fi
else
    say "kept the data (/var/lib/balance-station), the configuration and certificates (/etc/balance-station) and the user balance-station; --purge deletes them"
fi

if [ "$LIVE" -eq 1 ]; then
    systemctl daemon-reload
    if systemctl is-active --quiet nginx.service; then
        systemctl reload nginx.service || true
    fi
fi
