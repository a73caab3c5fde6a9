#!/usr/bin/env bash
# Install or update the balance station on a Raspberry Pi (Raspberry Pi OS / Debian 12 or later).
#
#   sudo systemd/install.sh                  install, or update from this checkout
#   sudo systemd/install.sh --hub            the clinic's hub instead, on its own server
#   systemd/install.sh --root DIR --no-venv  write everything under DIR, start nothing (tests)
#
# Idempotent: a second run changes nothing. Updating is re-running it from a newer checkout; the
# configuration (/etc/balance-station/station.toml) and the data (/var/lib/balance-station) are
# kept. What it does, in order:
#   1. Debian packages: python3-venv, nginx, openssl, i2c-tools, python3-lgpio    (not with --root)
#   2. the system user balance-station, in groups i2c and gpio (systemd-sysusers)
#   3. the configuration /etc/balance-station/station.toml (kept if present; the new default goes
#      beside it as station.toml.dist), checked by this checkout's code before anything is
#      installed or restarted
#   4. a virtual environment /opt/balance-station/venv with this checkout installed, and
#      /usr/local/bin/balance-station                                            (not with --no-venv)
#   5. TLS: a local certificate authority (kept) and the station's certificate, signed by it
#   6. nginx: HTTPS to the tablet, HTTP redirected to HTTPS, /ca.crt to download the CA
#   7. I2C at 400 kHz: firmware/boot/balance-station.txt included from the Pi's config.txt,
#      i2c-dev loaded at boot, udev rules for the i2c and gpio groups
#   8. the units balance-station.service and balance-station-backup.timer, enabled and (re)started
# and prints the address to open on the tablet.
#
# With --hub (the clinic's hub, on a server of its own, not on a station): Debian packages
# python3-venv, nginx, openssl, postgresql; the system user balance-hub; the database role
# balance-hub and its database "balance" on the local PostgreSQL (peer authentication, no
# password; not when /etc/balance-station/hub.env names another database); the software with its
# [hub] extra (psycopg); /etc/balance-station/hub.toml; the same TLS and nginx as a station's; the
# units balance-station-hub.service and balance-station-hub-backup.timer. No I2C, no station.
set -euo pipefail
umask 022

PROG=install.sh
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=""
WITH_VENV=1
WITH_APT=1
HOST_NAME=""
HUB=0
PYTHON=${PYTHON:-python3}

usage() {
    cat <<EOF
usage: $PROG [--hub] [--root DIR] [--no-venv] [--no-apt] [--hostname NAME] [--python PYTHON]

  --hub            install the clinic's hub (on its own server, with PostgreSQL), not a station
  --root DIR       install under DIR instead of /, start nothing, install no Debian package
  --no-venv        do not create or update the virtual environment (the checkout's own Python
                   code is used to check the configuration)
  --no-apt         do not install Debian packages
  --hostname NAME  host name for the certificate and the printed address (default: this host's)
  --python PYTHON  interpreter for the virtual environment (default: python3)
EOF
}

die() { echo "$PROG: $*" >&2; exit 1; }
say() { echo "$PROG: $*"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT=$2; shift 2 ;;
        --root=*) ROOT=${1#--root=}; shift ;;
        --no-venv) WITH_VENV=0; shift ;;
        --no-apt) WITH_APT=0; shift ;;
        --hub) HUB=1; shift ;;
        --hostname) [ $# -ge 2 ] || die "--hostname needs a name"; HOST_NAME=$2; shift 2 ;;
        --hostname=*) HOST_NAME=${1#--hostname=}; shift ;;
        --python) [ $# -ge 2 ] || die "--python needs an interpreter"; PYTHON=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
done

# -- where things go ----------------------------------------------------------------------------
LIVE=1                                     # 1: the real system (start services); 0: --root
if [ -n "$ROOT" ]; then
    LIVE=0
    WITH_APT=0
    [ -d "$ROOT" ] || die "--root $ROOT: no such directory; create it first"
    ROOT=$(cd "$ROOT" && pwd)
    [ "$ROOT" != / ] || ROOT=""
fi
[ "$(id -u)" -eq 0 ] || die "run as root (sudo $0 $*): it creates a system user and writes to /etc and /opt"

USER_NAME=balance-station
OPT=/opt/balance-station
VENV=$OPT/venv
ETC=/etc/balance-station
CONFIG=$ETC/station.toml
TLS=$ETC/tls
CA_KEY=$TLS/ca.key
CA_CERT=$TLS/ca.crt
STATE=/var/lib/balance-station
UNITS=(balance-station.service balance-station-backup.service balance-station-backup.timer)
SERVICE=balance-station.service
TIMER=balance-station-backup.timer
SYSUSERS=balance-station
DEFAULT_CONFIG=$SRC/systemd/station.toml
PACKAGE=$SRC
WHAT="the station"
OTHER_CONFIG=$ETC/hub.toml
HUB_DATABASE=""
if [ "$HUB" -eq 1 ]; then
    USER_NAME=balance-hub
    CONFIG=$ETC/hub.toml
    STATE=/var/lib/balance-hub
    UNITS=(balance-station-hub.service balance-station-hub-backup.service balance-station-hub-backup.timer)
    SERVICE=balance-station-hub.service
    TIMER=balance-station-hub-backup.timer
    SYSUSERS=balance-station-hub
    PACKAGE="$SRC[hub]"                    # psycopg, the PostgreSQL driver
    WHAT="the hub"
    OTHER_CONFIG=$ETC/station.toml
    # The database: as the units say (the local server, peer authentication), unless hub.env says
    # otherwise (systemd/balance-station-hub.service).
    HUB_DATABASE='postgresql:///balance?host=/var/run/postgresql'
fi
CHANGED=0                                  # anything written by this run
REBOOT=0                                   # the boot configuration changed

r() { printf '%s%s' "$ROOT" "$1"; }        # a target path under the root

MACHINE_NAME=""                            # the name the station's web server answers by itself
if [ -n "$ROOT" ]; then
    MACHINE_NAME=$(cat "$(r /etc/hostname)" 2>/dev/null || true)
fi
[ -n "$MACHINE_NAME" ] || MACHINE_NAME=$(hostname)
MACHINE_NAME=${MACHINE_NAME%%.*}
[ -n "$HOST_NAME" ] || HOST_NAME=$MACHINE_NAME
HOST_NAME=${HOST_NAME%%.*}
[[ "$HOST_NAME" =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ ]] \
    || die "host name '$HOST_NAME' is not a valid DNS label; give one with --hostname"

# -- helpers ------------------------------------------------------------------------------------

# uid/gid of a user or group in the target's /etc/passwd or /etc/group (root is 0 everywhere).
id_in() {
    if [ "$2" = root ]; then echo 0; return; fi
    awk -F: -v n="$2" '$1 == n { print $3; found = 1 } END { exit !found }' "$(r "/etc/$1")" 2>/dev/null
}

# install_file SRC DEST MODE OWNER GROUP: copy if the content differs; always fix mode and owner.
install_file() {
    local src=$1 dest=$2 mode=$3 owner=$4 group=$5 target
    target=$(r "$dest")
    mkdir -p "$(dirname "$target")"
    if [ -L "$target" ] || ! cmp -s "$src" "$target"; then
        rm -f "$target"
        cp "$src" "$target"
        say "wrote $dest"
        CHANGED=1
    fi
    set_owner_mode "$dest" "$mode" "$owner" "$group"
}

# set_owner_mode DEST MODE OWNER GROUP (names resolved in the target system)
set_owner_mode() {
    local target uid gid
    target=$(r "$1")
    uid=$(id_in passwd "$3") || die "no user $3 in $(r /etc/passwd)"
    gid=$(id_in group "$4") || die "no group $4 in $(r /etc/group)"
    if [ "$(stat -c '%a %u %g' "$target")" != "$(printf '%o' "0$2") $uid $gid" ]; then
        chown "$uid:$gid" "$target"
        chmod "$2" "$target"
        CHANGED=1
    fi
}

# make_dir DIR MODE OWNER GROUP
make_dir() {
    local target
    target=$(r "$1")
    if [ ! -d "$target" ]; then
        mkdir -p "$target"
        say "created $1"
        CHANGED=1
    fi
    set_owner_mode "$1" "$2" "$3" "$4"
}

# link TARGET LINKNAME: a symbolic link (target as seen on the installed system)
link() {
    local name
    name=$(r "$2")
    if [ "$(readlink "$name" 2>/dev/null)" != "$1" ]; then
        mkdir -p "$(dirname "$name")"
        rm -f "$name"
        ln -s "$1" "$name"
        say "linked $2 -> $1"
        CHANGED=1
    fi
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# pip builds the checkout in place: setuptools wrote build/ and balance_station.egg-info/ into it on every
# install. Its build and egg-info directories are put in $TMP instead (DIST_EXTRA_CONFIG: a configuration file
# setuptools reads after setup.cfg), so an install leaves the checkout as it found it.
printf '[build]\nbuild_base = %s\n[egg_info]\negg_base = %s\n' "$TMP/build" "$TMP" >"$TMP/setuptools.cfg"
export DIST_EXTRA_CONFIG=$TMP/setuptools.cfg
if [ "$HUB" -eq 1 ]; then
    # The hub's configuration: the station's file with the hub's data directory.
    {
        echo "# The clinic hub's configuration, written by systemd/install.sh --hub: the station's file with"
        echo "# the hub's data directory (keys only a station uses, [plate] for one, do nothing here). Read"
        echo "# \"sudo balance-station --config $CONFIG\" for \"sudo balance-station\", hub.toml for station.toml"
        echo "# and balance-station-hub for balance-station."
        sed 's|^data_dir = "/var/lib/balance-station"$|data_dir = "/var/lib/balance-hub"|' "$SRC/systemd/station.toml"
    } >"$TMP/hub.toml"
    grep -q '^data_dir = "/var/lib/balance-hub"$' "$TMP/hub.toml" || die "systemd/station.toml has no data_dir line to give the hub its own"
    DEFAULT_CONFIG=$TMP/hub.toml
    hub_env=$(r "$ETC/hub.env")
    if [ -f "$hub_env" ]; then
        HUB_DATABASE=$(sed -n 's/^BALANCE_STATION_DATABASE=//p' "$hub_env" | tail -n 1)
    fi
fi

# The station's command: from the virtual environment, or from this checkout (--no-venv).
# Isolated (-I) or from the checkout: a station/ folder in the current directory is not imported.
station() {
    if [ "$WITH_VENV" -eq 1 ]; then
        "$(r "$VENV/bin/python")" -I -m station.cli "$@"
    else
        checkout_station "$PYTHON" "$@"
    fi
}

# checkout_station PYTHON ARGS...: this checkout's station command run by PYTHON (its packages).
checkout_station() {
    local python=$1
    shift
    (cd "$SRC" && PYTHONPATH="$SRC${PYTHONPATH:+:$PYTHONPATH}" "$python" -m station.cli "$@")
}

# check_config [precheck]: the configuration checked by this checkout's code; stops the install if
# it is not valid. One start of the station's command answers what the steps below read: the check
# (its errors and exit status), the values in effect ($TMP/config.json's "config", as config show --json)
# and the nginx site or what config proxy would refuse it with ("proxy"): `config check --json`. Three
# starts did before, ~0.15 CPU-s each on the development machine, seconds on a Pi. "precheck": before
# the virtual environment is updated, with its installed
# packages and this checkout's station code on PYTHONPATH (as --no-venv does); if this version
# needs a package the installed environment lacks, in a throw-away environment instead. That one
# sees the installed environment's packages (a .pth file naming its site-packages; its pip too):
# pip adds only what this version needs beyond them, into the throw-away one, and uninstalls
# nothing outside it. Before, it installed every dependency the system lacks again (reportlab,
# pillow, fhir.resources, ..., and on a Pi numpy, scipy, pydantic too: minutes); such an update took
# 12.4 CPU-s on the development machine, whose python3 has numpy and scipy, now 6.2 (2026-12-07).
# With another Python version than the installed one's: a whole environment of its own, as before.
check_config() {
    local python site version status=0
    local check=(--config "$(r "$CONFIG")" config check --json --ca-cert "$CA_CERT")
    if [ "${1:-}" = precheck ]; then
        python=$(r "$VENV/bin/python")
        checkout_station "$python" "${check[@]}" >"$TMP/config.json" 2>"$TMP/check" || status=$?
        if [ "$status" -ne 0 ] && grep -q "^ModuleNotFoundError: " "$TMP/check"; then
            say "this version needs a Python package the installed one lacks: checking the configuration in a temporary environment first"
            site='import sys, sysconfig; print(sys.version_info[:2], sysconfig.get_path("purelib"))'
            version=$("$python" -I -c "$site")
            "$PYTHON" -m venv --without-pip --system-site-packages "$TMP/venv"
            site=$("$TMP/venv/bin/python" -I -c "$site")
            if [ "${site%%) *}" = "${version%%) *}" ]; then
                printf '%s\n' "${version#*) }" >"${site#*) }/balance-station-installed.pth"
            else
                "$TMP/venv/bin/python" -m ensurepip --default-pip >/dev/null
            fi
            "$TMP/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$PACKAGE" \
                || die "this version could not be installed into a temporary environment (see above); the running station was not changed"
            status=0
            checkout_station "$TMP/venv/bin/python" "${check[@]}" >"$TMP/config.json" 2>"$TMP/check" || status=$?
        fi
    else
        station "${check[@]}" >"$TMP/config.json" 2>"$TMP/check" || status=$?
    fi
    if [ "$status" -ne 0 ]; then
        cat "$TMP/check" >&2
        die "the configuration $CONFIG is not valid for this version; fix it (compare with $CONFIG.dist) and run $PROG again; the running station was not changed"
    fi
    # valid, with what the check warns of (a hub kept in UTC without [clinic] time_zone takes UTC's day for today)
    sed -n 's/^balance-station: warning: /warning: /p' "$TMP/check" | while IFS= read -r line; do say "$line"; done
}

# An update restarts a running station: first a backup of its database (online, as the hourly
# one), so that going back loses nothing, and never while a trial records (a restart would cut
# it short): `backup` refuses then, and the restart waits for the trial to end, at most
# RESTART_WAIT_S seconds, asking again every RESTART_POLL_S seconds.
RESTART_WAIT_S=600
RESTART_POLL_S=10
backup_before_restart() {
    local waited=0 bound="$RESTART_WAIT_S seconds"
    [ $((RESTART_WAIT_S % 60)) -ne 0 ] || bound="$((RESTART_WAIT_S / 60)) minutes"
    while ! station --config "$(r "$CONFIG")" backup ${HUB_DATABASE:+--database "$HUB_DATABASE"} >"$TMP/backup" 2>&1; do
        if ! grep -q "is recording" "$TMP/backup"; then
            cat "$TMP/backup" >&2
            die "the backup before restarting $WHAT failed (see above); the new version is installed, $WHAT still runs the old one until it restarts: fix that, then run $PROG again"
        fi
        if [ "$waited" -ge "$RESTART_WAIT_S" ]; then
            die "a trial is still recording after $bound; the new version is installed, the station still runs the old one: when the trial has ended, run $PROG again (or sudo systemctl restart balance-station)"
        fi
        if [ "$waited" -eq 0 ]; then
            say "a trial is recording: the station restarts when it has ended (waiting at most $bound; Ctrl-C stops waiting, then run $PROG again later)"
        fi
        sleep "$RESTART_POLL_S"
        waited=$((waited + RESTART_POLL_S))
    done
    sed "s/^/$PROG: before restarting: /" "$TMP/backup"
}

# -- 0. checks ----------------------------------------------------------------------------------
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
    || die "$PYTHON is missing or older than 3.11; install Python 3.11 or later (Debian 12 has it)"
[ -f "$SRC/pyproject.toml" ] && [ -d "$SRC/station" ] || die "$SRC is not a balance station checkout"
if [ "$LIVE" -eq 1 ]; then
    [ -d /run/systemd/system ] || die "systemd is not running here; use --root DIR to stage an installation"
fi
command -v systemd-sysusers >/dev/null || die "systemd-sysusers not found; install the systemd package"
command -v openssl >/dev/null || die "openssl not found; install it: apt-get install openssl"
# One machine, one of the two: both would take ports 443 and 80 and the same certificate.
[ ! -e "$(r "$OTHER_CONFIG")" ] \
    || die "$OTHER_CONFIG exists: this machine has the $([ "$HUB" -eq 1 ] && echo station || echo hub) installed; install the hub and the stations on different machines (systemd/README.md)"

# -- 1. Debian packages -------------------------------------------------------------------------
if [ "$WITH_APT" -eq 1 ]; then
    if [ "$HUB" -eq 1 ]; then
        wanted=(python3-venv nginx openssl postgresql)
    else
        wanted=(python3-venv nginx openssl i2c-tools)
        # GPIO for gpiozero: packaged by Raspberry Pi OS (and Ubuntu), not by plain Debian; then
        # the virtual environment gets lgpio from PyPI instead (step 4).
        if apt-cache show python3-lgpio >/dev/null 2>&1; then wanted+=(python3-lgpio); fi
    fi
    missing=()
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
        CHANGED=1
    fi
fi

# -- 2. user ------------------------------------------------------------------------------------
install_file "$SRC/systemd/$SYSUSERS.sysusers" "/etc/sysusers.d/$SYSUSERS.conf" 644 root root
accounts() { cat "$(r /etc/passwd)" "$(r /etc/group)" 2>/dev/null | md5sum || true; }
before=$(accounts)
if [ -n "$ROOT" ]; then
    systemd-sysusers --root="$ROOT" "$SYSUSERS.conf"
else
    systemd-sysusers "$SYSUSERS.conf"
fi
if [ "$before" != "$(accounts)" ]; then
    say "created the system user $USER_NAME$([ "$HUB" -eq 1 ] || echo " (groups i2c, gpio)")"
    CHANGED=1
fi

# -- 3. configuration ---------------------------------------------------------------------------
make_dir "$ETC" 755 root root
if [ ! -e "$(r "$CONFIG")" ]; then
    install_file "$DEFAULT_CONFIG" "$CONFIG" 640 root "$USER_NAME"
else
    set_owner_mode "$CONFIG" 640 root "$USER_NAME"
    if cmp -s "$DEFAULT_CONFIG" "$(r "$CONFIG")"; then
        if [ -e "$(r "$CONFIG.dist")" ]; then rm -f "$(r "$CONFIG.dist")"; CHANGED=1; fi
    else
        # Kept as edited; the default of this version goes beside it, to compare.
        install_file "$DEFAULT_CONFIG" "$CONFIG.dist" 644 root root
    fi
fi

# -- 4. virtual environment --------------------------------------------------------------------
make_dir "$OPT" 755 root root
PRECHECKED=0                               # the configuration was checked by this checkout's code
if [ "$WITH_VENV" -eq 1 ]; then
    if [ ! -x "$(r "$VENV/bin/python")" ]; then
        say "creating the virtual environment $VENV"
        # System site packages: python3-lgpio (GPIO for gpiozero) comes from Debian.
        "$PYTHON" -m venv --system-site-packages "$(r "$VENV")"
        CHANGED=1
    fi
    # An update: the configuration is checked by the new code before the new code replaces the
    # running station's (a restart, a watchdog or a power cut would start it on a configuration
    # it refuses, and the station would stay down).
    if "$(r "$VENV/bin/python")" -I -c "import station" 2>/dev/null; then
        check_config precheck
        PRECHECKED=1
    fi
    say "installing balance-station from $PACKAGE into $VENV"
    "$(r "$VENV/bin/python")" -m pip install --quiet --disable-pip-version-check "$PACKAGE"
    if [ "$HUB" -eq 0 ] && [ "$LIVE" -eq 1 ] && ! "$(r "$VENV/bin/python")" -c "import lgpio" 2>/dev/null; then
        say "python3-lgpio is not installed from the system; installing lgpio from PyPI for GPIO"
        "$(r "$VENV/bin/python")" -m pip install --quiet --disable-pip-version-check lgpio \
            || say "warning: lgpio could not be installed: the panel (button, buzzer, LED, gates) will not work; install python3-lgpio or liblgpio and run $PROG again"
    fi
    link "$VENV/bin/balance-station" /usr/local/bin/balance-station
fi
# The guides, side by side in $OPT/doc: their links to each other rewritten for that folder.
for doc in "$SRC/systemd/README.md:README.md" "$SRC/docs/wiring.md:wiring.md" "$SRC/docs/wiring.svg:wiring.svg" \
           "$SRC/firmware/rp2040/README.md:rp2040.md"; do
    if [ -f "${doc%%:*}" ]; then
        sed -e 's#](\.\./docs/wiring\.md#](wiring.md#g' -e 's#](\.\./\.\./docs/wiring\.md#](wiring.md#g' \
            -e 's#](\.\./firmware/rp2040/README\.md#](rp2040.md#g' "${doc%%:*}" >"$TMP/doc"
        install_file "$TMP/doc" "$OPT/doc/${doc##*:}" 644 root root
    fi
done

[ "$PRECHECKED" -eq 1 ] || check_config
# The settings used below, read by one start of Python (each start costs a Pi a tenth of a second or
# more; six did this before) from the check's answers, each ended by a NUL: [web] https_port, tls_cert,
# tls_key, [hub] url, [web] host_names (space-separated; the web server answers only its own names,
# web.security.own_host: the machine's, and these), data_dir, and config proxy's exit status; the nginx
# site into $TMP/nginx-site, or the line config proxy would have refused it with into $TMP/proxy-error.
"$PYTHON" -c 'import json, sys
answers = json.load(open(sys.argv[1]))
c, proxy = answers["config"], answers["proxy"]
for value in (c["web"]["https_port"], c["web"]["tls_cert"], c["web"]["tls_key"], c["hub"]["url"],
              " ".join(c["web"]["host_names"]), c["data_dir"], proxy.get("exit_status", 0)):
    print(value, end="\0")
with open(sys.argv[2] if "site" in proxy else sys.argv[3], "w") as out:
    out.write(proxy["site"] if "site" in proxy else "balance-station config: " + proxy["error"] + "\n")' \
    "$TMP/config.json" "$TMP/nginx-site" "$TMP/proxy-error" >"$TMP/settings"
{ IFS= read -r -d "" HTTPS_PORT; IFS= read -r -d "" TLS_CERT; IFS= read -r -d "" TLS_KEY; IFS= read -r -d "" HUB_URL
  IFS= read -r -d "" HOST_NAMES; IFS= read -r -d "" DATA_DIR; IFS= read -r -d "" PROXY_STATUS; } <"$TMP/settings"
if [ "${HOST_NAME,,}" != "${MACHINE_NAME,,}" ] && [[ " $HOST_NAMES " != *" ${HOST_NAME,,}.local "* ]]; then
    say "warning: the certificate names $HOST_NAME.local, but this machine is named $MACHINE_NAME, and $WHAT answers only its own names (its addresses, $MACHINE_NAME.local, [web] host_names): add host_names = [\"${HOST_NAME,,}.local\"] under [web] in $CONFIG, or name the machine $HOST_NAME (sudo hostnamectl set-hostname $HOST_NAME); then run $PROG again"
fi
DATA_DIR=${DATA_DIR#"$ROOT"}
[ -n "$TLS_CERT" ] && [ -n "$TLS_KEY" ] \
    || die "web.tls_cert and web.tls_key are empty in $CONFIG; the tablet reaches the station over HTTPS: set them (see $CONFIG.dist)"
TLS_CERT=${TLS_CERT#"$ROOT"}               # a relative path was resolved under --root
TLS_KEY=${TLS_KEY#"$ROOT"}

# -- 5. TLS: a local CA (kept for good) and the station's certificate ----------------------------
make_dir "$TLS" 755 root root
if [ ! -s "$(r "$CA_KEY")" ] || [ ! -s "$(r "$CA_CERT")" ]; then
    say "creating the station's local certificate authority in $TLS"
    # Name constraints: even if its key leaked, this CA could not vouch for any public site:
    # only .local names, the host name and private IPv4 addresses.
    cat >"$TMP/ca.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
x509_extensions = ca_ext
[dn]
CN = Balance station local CA ($HOST_NAME)
O = Balance station
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
nameConstraints = critical, permitted;DNS:local, permitted;DNS:localhost, permitted;DNS:$HOST_NAME, permitted;IP:10.0.0.0/255.0.0.0, permitted;IP:172.16.0.0/255.240.0.0, permitted;IP:192.168.0.0/255.255.0.0, permitted;IP:169.254.0.0/255.255.0.0, permitted;IP:127.0.0.0/255.0.0.0
EOF
    (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/ca.key" 2>/dev/null)
    openssl req -new -x509 -key "$TMP/ca.key" -days 3650 -sha256 -config "$TMP/ca.cnf" -out "$TMP/ca.crt"
    install_file "$TMP/ca.key" "$CA_KEY" 600 root root
    install_file "$TMP/ca.crt" "$CA_CERT" 644 root root
fi

# Names the certificate must hold: <host>.local, localhost, and (on the Pi) its IPv4 addresses.
SANS="DNS:$HOST_NAME.local,DNS:localhost,IP:127.0.0.1"
if [ "$LIVE" -eq 1 ]; then
    for ip in $(hostname -I 2>/dev/null); do
        case "$ip" in *.*) SANS="$SANS,IP:$ip" ;; esac
    done
fi
cert_ok() {
    local cert key
    cert=$(r "$TLS_CERT"); key=$(r "$TLS_KEY")
    [ -s "$cert" ] && [ -s "$key" ] || return 1
    openssl x509 -in "$cert" -noout -checkend $((30 * 86400)) >/dev/null || return 1      # 30 days left
    openssl verify -CAfile "$(r "$CA_CERT")" "$cert" >/dev/null 2>&1 || return 1          # our CA's
    [ "$(openssl x509 -in "$cert" -noout -pubkey | openssl sha256)" = \
      "$(openssl pkey -in "$key" -pubout | openssl sha256)" ] || return 1                   # its key
    local have name
    have=$(openssl x509 -in "$cert" -noout -ext subjectAltName 2>/dev/null | tail -n +2 \
        | sed -e 's/IP Address:/IP:/g' -e 's/, */\n/g' -e 's/^ *//')
    for name in ${SANS//,/ }; do
        grep -qxF "$name" <<<"$have" || return 1                                            # every name
    done
}
if ! cert_ok; then
    say "issuing the station's certificate for ${SANS//,/, }"
    cat >"$TMP/server.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = $HOST_NAME.local
O = Balance station
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $SANS
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/server.key" 2>/dev/null)
    openssl req -new -key "$TMP/server.key" -config "$TMP/server.cnf" -out "$TMP/server.csr"
    # 825 days: the longest validity iOS accepts for a TLS server certificate.
    openssl x509 -req -in "$TMP/server.csr" -CA "$(r "$CA_CERT")" -CAkey "$(r "$CA_KEY")" \
        -CAcreateserial -CAserial "$TMP/ca.srl" -days 825 -sha256 \
        -extfile "$TMP/server.cnf" -extensions server_ext -out "$TMP/server.crt" 2>/dev/null
    install_file "$TMP/server.key" "$TLS_KEY" 600 root root
    install_file "$TMP/server.crt" "$TLS_CERT" 644 root root
fi

# -- 6. nginx: HTTPS in front of the station ----------------------------------------------------
# the site config proxy gives (check_config's answers): where it refuses, its words and exit status
if [ "$PROXY_STATUS" -ne 0 ]; then cat "$TMP/proxy-error" >&2; exit "$PROXY_STATUS"; fi
install_file "$TMP/nginx-site" /etc/nginx/sites-available/balance-station 644 root root
link /etc/nginx/sites-available/balance-station /etc/nginx/sites-enabled/balance-station
# nginx's connections a worker: Debian's 768 are held by a few hundred connections from the LAN that
# begin a request and stall (each for client_header_timeout, 10 s; nginx cannot reuse such a
# connection for another client), and meanwhile every tablet's request is refused (README, "Security":
# measured). 4096 a worker, and the open files to hold them; a value set by hand is left as it is.
nginx_conf=$(r /etc/nginx/nginx.conf)
if [ -f "$nginx_conf" ]; then
    if grep -qE '^[[:space:]]*worker_connections[[:space:]]+768;' "$nginx_conf"; then
        sed -i -E 's/^([[:space:]]*)worker_connections[[:space:]]+768;/\1worker_connections 4096;  # balance-station (systemd\/install.sh): was 768/' "$nginx_conf"
        say "raised nginx's worker_connections from 768 to 4096 (/etc/nginx/nginx.conf)"
        CHANGED=1
    fi
    if ! grep -qE '^[[:space:]]*worker_rlimit_nofile[[:space:]]' "$nginx_conf"; then
        if grep -qE '^[[:space:]]*worker_processes[[:space:]]' "$nginx_conf"; then
            sed -i -E '0,/^[[:space:]]*worker_processes[[:space:]].*$/s//&\nworker_rlimit_nofile 16384;  # balance-station (systemd\/install.sh)/' "$nginx_conf"
            say "let nginx's workers open 16384 files (worker_rlimit_nofile, /etc/nginx/nginx.conf)"
            CHANGED=1
        else
            say "warning: no worker_processes line in /etc/nginx/nginx.conf: add 'worker_rlimit_nofile 16384;' at its top by hand"
        fi
    fi
fi
# Debian's example site also claims port 80 as the default server: the station replaces it.
default_site=$(r /etc/nginx/sites-enabled/default)
if [ -L "$default_site" ] && [ "$(basename "$(readlink "$default_site")")" = default ]; then
    rm -f "$default_site"
    say "disabled nginx's example site (sites-enabled/default)"
    CHANGED=1
fi

# -- 7. I2C at 400 kHz, device permissions (a station) ------------------------------------------
BOOT=""
if [ "$HUB" -eq 0 ]; then
for candidate in /boot/firmware /boot; do
    if [ -f "$(r "$candidate/config.txt")" ]; then BOOT=$candidate; break; fi
done
if [ -n "$BOOT" ]; then
    install_file "$SRC/firmware/boot/balance-station.txt" "$BOOT/balance-station.txt" 644 root root
    if ! grep -qxF "include balance-station.txt" "$(r "$BOOT/config.txt")"; then
        # [all] first: an include after a [pi4] filter would apply to Pi 4 boards only.
        printf '\n# >>> balance-station (systemd/install.sh)\n[all]\ninclude balance-station.txt\n# <<< balance-station\n' \
            >>"$(r "$BOOT/config.txt")"
        say "enabled I2C at 400 kHz in $BOOT/config.txt"
        CHANGED=1
        REBOOT=1
    fi
else
    say "warning: no Raspberry Pi boot configuration ($(r /boot/firmware/config.txt)); enable I2C at 400 kHz by hand (docs/wiring.md)"
fi
install_file "$SRC/systemd/balance-station.modules" /etc/modules-load.d/balance-station.conf 644 root root
install_file "$SRC/systemd/60-balance-station.rules" /etc/udev/rules.d/60-balance-station.rules 644 root root
fi

# -- 8. state directory and units ---------------------------------------------------------------
mkdir -p "$(r /var/lib)"
make_dir "$STATE" 700 "$USER_NAME" "$USER_NAME"
# A station's first-run setup (the first administrator) asks for a one-time code, printed below,
# whenever its database has no account: until then the station is on the clinic's network, and
# whoever opened it first would otherwise become its administrator (station/store/setup_code.py).
# Wherever data_dir is, also on an update of a station never set up (an older version made no
# code). Kept until used (each run prints it again), deleted with the first administrator (the
# setup page, or `balance-station users add NAME --role admin`). The hub: when its PostgreSQL
# database holds no account (hub_accounts); a database that cannot be asked yet (a fresh server: it
# is made below; a --root installation) counts as none while the hub has never started (no web key).
# accounts_in DB: how many accounts the station's database holds, read without migrating it and as
# the data directory's owner (the -shm file a read-only opening makes stays the service's);
# nothing printed if it cannot be read (the reason in $TMP/accounts).
accounts_in() {
    "$PYTHON" - "$1" 2>"$TMP/accounts" <<'EOF' || true
import os, sqlite3, sys, urllib.parse
path = sys.argv[1]
if os.geteuid() == 0:
    owner = os.stat(os.path.dirname(path))
    os.setgroups([])
    os.setgid(owner.st_gid)
    os.setuid(owner.st_uid)
conn = sqlite3.connect(f"file:{urllib.parse.quote(path)}?mode=ro", uri=True, timeout=5.0)
if conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'users'").fetchone()[0]:
    print(conn.execute("SELECT count(*) FROM users").fetchone()[0])
else:
    print(0)  # no schema yet
EOF
}
# hub_accounts: how many accounts the hub's database ($HUB_DATABASE, given to Python in the
# environment: a URL may hold a password; with hub.env's PGPASSFILE) holds, asked as the hub's user
# on this system (peer authentication) with its driver; nothing printed if it cannot be asked (the
# reason in $TMP/accounts).
hub_accounts() {
    local python=$PYTHON as=()
    [ "$WITH_VENV" -eq 0 ] || python=$(r "$VENV/bin/python")
    [ "$LIVE" -eq 0 ] || as=(runuser -u "$USER_NAME" --)
    local passfile=""
    [ ! -f "$(r "$ETC/hub.env")" ] || passfile=$(sed -n 's/^PGPASSFILE=//p' "$(r "$ETC/hub.env")" | tail -n 1)
    BALANCE_STATION_DATABASE=$HUB_DATABASE PGPASSFILE=${passfile:-${PGPASSFILE:-}} "${as[@]}" "$python" -I - \
        2>"$TMP/accounts" <<'EOF' || true
import os, psycopg
with psycopg.connect(os.environ["BALANCE_STATION_DATABASE"], connect_timeout=5) as conn:
    if conn.execute("SELECT to_regclass('public.users')").fetchone()[0] is None:
        print(0)  # no schema yet
    else:
        print(conn.execute("SELECT count(*) FROM users").fetchone()[0])
EOF
}
SETUP_CODE=""
CODE_FILE=$DATA_DIR/setup-code
NO_ACCOUNT=0
if [ "$HUB" -eq 1 ]; then
    accounts=$(hub_accounts)
    if [ "$accounts" = 0 ]; then
        NO_ACCOUNT=1
    elif [ -z "$accounts" ] && [ ! -e "$(r "$DATA_DIR/secret_key")" ]; then
        NO_ACCOUNT=1                                        # never started (the web key comes at its first start)
    elif [ -z "$accounts" ]; then
        say "warning: could not count the accounts in the hub's database ($(tail -n 1 "$TMP/accounts")); no setup code made: if nobody has set the hub up yet, create its administrator now (sudo balance-station --config $CONFIG users add NAME --role admin --database URL)"
    fi
elif [ ! -s "$(r "$DATA_DIR/station.sqlite3")" ]; then
    NO_ACCOUNT=1                                            # no database yet (or an empty file)
else
    accounts=$(accounts_in "$(r "$DATA_DIR/station.sqlite3")")
    if [ "$accounts" = 0 ]; then
        NO_ACCOUNT=1
    elif [ -z "$accounts" ]; then
        say "warning: could not count the accounts in $DATA_DIR/station.sqlite3 ($(tail -n 1 "$TMP/accounts")); no setup code made: if nobody has set the station up yet, create its administrator now (sudo balance-station users add NAME --role admin)"
    fi
fi
if [ "$NO_ACCOUNT" -eq 1 ]; then
    [ -d "$(r "$DATA_DIR")" ] || make_dir "$DATA_DIR" 700 "$USER_NAME" "$USER_NAME"
    SETUP_CODE=$(tr -cd '0-9A-Za-z-' 2>/dev/null <"$(r "$CODE_FILE")" || true)
    if [ -z "${SETUP_CODE//-/}" ]; then                      # none yet, or a file without a code
        SETUP_CODE=$("$PYTHON" -c 'import secrets; n = f"{secrets.randbelow(10**12):012d}"; print(n[:4], n[4:8], n[8:], sep="-")')
        printf '%s\n' "$SETUP_CODE" >"$TMP/setup-code"
        rm -f "$(r "$CODE_FILE")"
        cp "$TMP/setup-code" "$(r "$CODE_FILE")"
        say "wrote $CODE_FILE"
        CHANGED=1
    fi
    owner=$(stat -c '%u:%g' "$(r "$DATA_DIR")")               # as the data directory's files are: its owner's alone
    if [ "$(stat -c '%a %u:%g' "$(r "$CODE_FILE")")" != "600 $owner" ]; then
        chown "$owner" "$(r "$CODE_FILE")"
        chmod 600 "$(r "$CODE_FILE")"
        CHANGED=1
    fi
fi
for unit in "${UNITS[@]}"; do
    install_file "$SRC/systemd/$unit" "/etc/systemd/system/$unit" 644 root root
done
# The unit lets the station reach localhost only. A station that syncs to a hub ([hub] url) also
# needs the hub. A hub named by its IP address: a drop-in allows that address alone (it changes
# only with the url, and then the installer runs again). A hub named by a name (<hub>.local, the
# clinic's DNS): its address may change whenever the clinic's DHCP says so, and the name server that
# finds it must be reached too, so the drop-in allows the private networks of the clinic (RFC 1918,
# link-local, IPv6 unique local) and the hub's own addresses (a hub outside them, resolved now: run
# the installer again if they change); allowing only the addresses resolved now would stop the sync
# at the hub's next new address, silently, the records kept on the SD card (systemd/README.md).
# Nothing can come in that way: the station listens on 127.0.0.1, nginx is the only way to it.
HUB_DROPIN=/etc/systemd/system/balance-station.service.d/hub.conf
if [ "$HUB" -eq 1 ]; then
    :                                      # the hub's unit: localhost and its database's socket
elif [ -n "$HUB_URL" ]; then
    hub_host=$("$PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).hostname or "")' "$HUB_URL")
    if [[ "$hub_host" =~ ^[0-9.]+$ || "$hub_host" == *:* ]]; then
        allowed=${hub_host%%%*}            # without an IPv6 zone (fe80::1%25eth0): systemd takes none
        reach="the hub's address alone (its url names it by address)"
    else
        hub_addresses=""
        if [ "$hub_host" != localhost ]; then
            hub_addresses=$(getent ahosts "$hub_host" 2>/dev/null | awk '{ print $1 }' | sort -u | tr '\n' ' ' || true)
            hub_addresses=${hub_addresses% }
            [ -n "$hub_addresses" ] \
                || say "warning: the hub's name $hub_host does not resolve now; the station reaches it only on the clinic's private network (run $PROG again once it resolves, if it is outside)"
        fi
        allowed="10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 169.254.0.0/16 fc00::/7 fe80::/10${hub_addresses:+ $hub_addresses}"
        reach="the clinic's private networks and the hub (its url names it by a name, whose address may change)"
    fi
    cat >"$TMP/hub.conf" <<EOF
# Written by systemd/install.sh because [hub] url is set in $CONFIG ($HUB_URL):
# the station may also reach $reach. Removed when url is "".
[Service]
IPAddressAllow=$allowed
EOF
    make_dir "$(dirname "$HUB_DROPIN")" 755 root root
    install_file "$TMP/hub.conf" "$HUB_DROPIN" 644 root root
elif [ -e "$(r "$HUB_DROPIN")" ]; then
    rm -f "$(r "$HUB_DROPIN")"
    rmdir "$(dirname "$(r "$HUB_DROPIN")")" 2>/dev/null || true
    say "removed $HUB_DROPIN ([hub] url is not set: localhost only)"
    CHANGED=1
fi
# The hub's database on this server's PostgreSQL: the role balance-hub (peer authentication: the
# service's user name is the role, no password) and the database "balance" it owns. Not when
# hub.env names another database (then its administrator makes them).
if [ "$HUB" -eq 1 ] && [ "$LIVE" -eq 1 ] && [ "$HUB_DATABASE" = 'postgresql:///balance?host=/var/run/postgresql' ]; then
    as_postgres() { runuser -u postgres -- "$@"; }
    if [ "$(as_postgres psql -tAqc "SELECT 1 FROM pg_roles WHERE rolname = 'balance-hub'")" != 1 ]; then
        as_postgres createuser balance-hub || die "could not create the database role balance-hub (see above); is PostgreSQL running? (systemctl status postgresql)"
        say "created the PostgreSQL role balance-hub"
        CHANGED=1
    fi
    if [ "$(as_postgres psql -tAqc "SELECT 1 FROM pg_database WHERE datname = 'balance'")" != 1 ]; then
        as_postgres createdb --owner balance-hub --encoding UTF8 --locale C.UTF-8 --template template0 balance \
            || die "could not create the database balance (see above)"
        say "created the PostgreSQL database balance (owner balance-hub)"
        CHANGED=1
    fi
fi
if [ "$LIVE" -eq 1 ]; then
    systemctl daemon-reload
    if [ "$HUB" -eq 0 ]; then
        udevadm control --reload-rules 2>/dev/null && udevadm trigger --subsystem-match=i2c-dev --subsystem-match=gpio 2>/dev/null || true
        modprobe i2c-dev 2>/dev/null || true
    fi
    systemctl enable --quiet "$SERVICE" "$TIMER" nginx.service
    nginx -t -q || die "nginx refuses its configuration (see above); $WHAT was not restarted"
    systemctl reload-or-restart nginx.service
    systemctl start "$TIMER"
    if [ "$REBOOT" -eq 1 ]; then
        say "$SERVICE is enabled; it starts after the reboot (I2C is not on yet)"
    else
        if systemctl is-active --quiet "$SERVICE"; then
            backup_before_restart
        fi
        systemctl restart "$SERVICE"
    fi
else
    before=$(find "$(r /etc/systemd/system)" -type l -printf '%p %l\n' | sort | md5sum)
    systemctl --root="$ROOT" enable "$SERVICE" "$TIMER" >"$TMP/enable" 2>&1 \
        || { cat "$TMP/enable" >&2; die "systemctl --root=$ROOT enable failed"; }
    [ "$before" = "$(find "$(r /etc/systemd/system)" -type l -printf '%p %l\n' | sort | md5sum)" ] \
        || { say "enabled $SERVICE and $TIMER"; CHANGED=1; }
fi

# -- done ---------------------------------------------------------------------------------------
port_suffix=""
[ "$HTTPS_PORT" = 443 ] || port_suffix=":$HTTPS_PORT"
fingerprint=$(openssl x509 -in "$(r "$CA_CERT")" -noout -fingerprint -sha256 | cut -d= -f2)
if [ "$CHANGED" -eq 0 ]; then
    say "nothing to change: the installation is up to date"
fi
echo
if [ "$HUB" -eq 1 ]; then
    hub_cli="sudo balance-station --config $CONFIG"
    hub_db="--database '$HUB_DATABASE'"
    echo "The clinic's hub:    https://$HOST_NAME.local$port_suffix/"
    echo "Its certificate authority: http://$HOST_NAME.local/ca.crt, SHA-256 fingerprint $fingerprint"
    echo "(trust it on the computers that open the hub, as on a station's tablet: $OPT/doc/README.md)"
    echo
    echo "For each station: make its token here, then on the station (systemd/README.md, \"Installing the hub\"):"
    echo "  1. $hub_cli hub stations add NAME $hub_db"
    echo "  2. copy this server's $CA_CERT to the station as $ETC/hub-ca.crt"
    echo "  3. in the station's $ETC/station.toml, [hub]: url = \"https://$HOST_NAME.local$port_suffix/\","
    echo "     token = the one printed in 1, ca_file = \"$ETC/hub-ca.crt\"; then run sudo systemd/install.sh there"
    if [ -n "$SETUP_CODE" ]; then
        echo
        echo "First-run setup: the hub's page asks for this setup code to create its first administrator:"
        echo "    $SETUP_CODE"
        echo "(used once; until then 'sudo cat $CODE_FILE' shows it). Or create the administrator here:"
        echo "$hub_cli users add NAME --role admin $hub_db"
    fi
    if [ "$LIVE" -eq 0 ]; then
        echo "(staged under $ROOT: nothing was started)"
    fi
    exit 0
fi
echo "Open on the tablet:  https://$HOST_NAME.local$port_suffix/"
if [ "$LIVE" -eq 1 ]; then
    for ip in $(hostname -I 2>/dev/null); do
        case "$ip" in *.*) echo "                 or  https://$ip$port_suffix/" ;; esac
    done
fi
echo "First, trust the station's certificate on the tablet: download http://$HOST_NAME.local/ca.crt"
echo "and check its SHA-256 fingerprint: $fingerprint"
echo "(step by step: $OPT/doc/README.md)"
if [ -n "$SETUP_CODE" ]; then
    echo
    echo "First-run setup: the tablet asks for this setup code to create the station's first administrator:"
    echo "    $SETUP_CODE"
    echo "(used once; until then 'sudo cat $CODE_FILE' shows it). Or create the administrator here,"
    echo "before anyone opens the station: sudo balance-station users add NAME --role admin"
fi
if [ "$REBOOT" -eq 1 ]; then
    echo "Reboot once to switch I2C on at 400 kHz: sudo reboot"
fi
if [ "$LIVE" -eq 0 ]; then
    echo "(staged under $ROOT: nothing was started)"
fi
