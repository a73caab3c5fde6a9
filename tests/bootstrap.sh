#!/usr/bin/env bash
# Debian packages the test suite needs beyond Python, installed when missing (as root, with apt):
#   tests/deploy: systemd (systemd-analyze, systemd-sysusers), openssl, nginx (the tests serve the
#                 generated HTTPS site with their own nginx on free ports; in containers Debian's
#                 policy-rc.d keeps the package's own nginx from starting);
#   tests/e2e:    chromium-headless-shell and chromium-driver (Selenium drives Debian's headless
#                 Chromium through /usr/bin/chromedriver; nothing downloads a browser); chromium, the
#                 full browser, for benchmarks/live_viewers.py, benchmarks/proxy_requests.py and
#                 docs/screenshots.py.
#   tests/web:    nodejs (tests/web/test_js_syntax.py parses every dashboard script, alone and as
#                 each page loads them).
#   tests/reports: poppler-utils (pdftotext, pdftoppm, pdfinfo, pdfimages read back the PDF reports:
#                 their text, word boxes and pages as images).
#   tests/store (and the hub's tests): postgresql (initdb, pg_ctl: tests/conftest.py starts a
#                 throwaway cluster in a temporary directory on the loopback; the package's own
#                 cluster is not used); postgresql-client (pg_dump, pg_restore: the hub's backups and
#                 restore, tests/store/test_store_pg_backup.py; Debian's postgresql depends on it).
# When they cannot be installed, the tests that need them skip and say why.
set -euo pipefail

missing=()
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromium-headless-shell >/dev/null 2>&1 || missing+=(chromium-headless-shell)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v node >/dev/null 2>&1 || command -v nodejs >/dev/null 2>&1 || missing+=(nodejs)
command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
ls /usr/lib/postgresql/*/bin/pg_restore >/dev/null 2>&1 || command -v pg_restore >/dev/null 2>&1 \
    || missing+=(postgresql-client)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: missing ${missing[*]} (install them as root with apt-get); the tests that need them skip" >&2
    exit 0
fi
echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null 2>&1 || echo "bootstrap: apt-get update failed; trying the cached package lists" >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || echo "bootstrap: could not install ${missing[*]}; the tests that need them skip" >&2
exit 0
