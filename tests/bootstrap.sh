#!/usr/bin/env bash
# System packages the test suite needs beyond Python (installed when missing and we are root).
# Nothing here yet beyond a check; browser packages are added with the dashboard's e2e tests.
set -euo pipefail
exit 0
