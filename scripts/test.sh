#!/usr/bin/env bash
# Install blogrec with everything the tests need into ./.venv, then lint and test.
# Extra arguments go to pytest (e.g. scripts/test.sh -m "not slow").
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
# Chromium and a Japanese font for the browser tests (apt-get; needs root, else skipped).
bash scripts/install-system-deps.sh
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[tfhub,test]'
.venv/bin/ruff check .
# Prefect: a temporary server per test process, no telemetry, a private home.
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=180
export TF_CPP_MIN_LOG_LEVEL=2
.venv/bin/python -m pytest -q -ra "$@"
