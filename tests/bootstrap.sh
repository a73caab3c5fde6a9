#!/usr/bin/env bash
# System packages the test suite needs beyond Python (installed when missing and we are root).
# Nothing here yet beyond a check; browser packages are added with the dashboard's e2e tests.
set -euo pipefail

# tests/deploy: systemd-analyze and systemd-sysusers (package systemd), openssl, and nginx (the
# tests serve the generated HTTPS site with their own nginx on free ports; in containers Debian's
# policy-rc.d keeps the package's own nginx from starting). Missing tools make those tests skip.
deploy_packages=()
command -v systemd-analyze >/dev/null 2>&1 || deploy_packages+=(systemd)
command -v openssl >/dev/null 2>&1 || deploy_packages+=(openssl)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || deploy_packages+=(nginx)
if [ ${#deploy_packages[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${deploy_packages[@]}" >/dev/null \
        || echo "bootstrap: could not install ${deploy_packages[*]}; tests/deploy skips what needs them" >&2
fi

exit 0
