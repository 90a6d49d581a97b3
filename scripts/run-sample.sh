#!/usr/bin/env bash
# Install blogrec into ./.venv and run the build on the sample blog shipped in the repo.
# Writes site_data/related.json and reports/build-report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
.venv/bin/blogrec build sample_blog/posts --out site_data --reports reports "$@"
