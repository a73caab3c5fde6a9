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

# tests/e2e: the dashboard's browser tests drive Debian's headless Chromium through its
# chromedriver with Selenium (no browser downloads). Without them those tests skip, saying why.
browser_packages=()
command -v chromium >/dev/null 2>&1 || browser_packages+=(chromium)
command -v chromedriver >/dev/null 2>&1 || browser_packages+=(chromium-driver)
if [ ${#browser_packages[@]} -gt 0 ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${browser_packages[@]}" >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${browser_packages[@]}" >/dev/null; }; } \
        || echo "bootstrap: could not install ${browser_packages[*]}; tests/e2e skips the browser tests" >&2
fi

exit 0
