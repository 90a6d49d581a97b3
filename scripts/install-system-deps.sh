#!/usr/bin/env bash
# System packages the tests need that PyPI cannot provide (Debian; CI runs as root):
#   chromium                 headless browser for tests/test_report.py (never `playwright install`)
#   hugo, jekyll             the template tests build real sites with them
#   fonts-ipaexfont-gothic   a Japanese font so the browser renders Japanese titles in the report
#                            (the plots themselves use the IPAex font from the matplotlib-fontja wheel)
# Idempotent: returns quickly when everything is installed already.
set -euo pipefail
PACKAGES=(chromium fonts-ipaexfont-gothic hugo jekyll)

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "system deps: all installed (${PACKAGES[*]})"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "system deps: missing ${missing[*]}; not root, skipping (run this script as root)" >&2
    # Tests that need them fail with a clear message in CI (CI=true) and skip elsewhere.
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "system deps: installed ${missing[*]}"
