#!/usr/bin/env bash
# Install blogrec with everything the tests need into ./.venv, lint it (ruff, and
# lint-imports for the layers), then test in two tiers: the fast tier (a few minutes),
# then the slow one (TF Hub, Prefect servers, browsers). Extra arguments replace the
# tiers with one pytest run (e.g. scripts/test.sh -m "not slow" tests/test_corpus.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
# Chromium and a Japanese font for the browser tests (apt-get; needs root, else skipped).
bash scripts/install-system-deps.sh
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[tfhub,test]'
.venv/bin/ruff check .
.venv/bin/lint-imports
# Prefect: a temporary server per test process, no telemetry, a private home.
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=180
export TF_CPP_MIN_LOG_LEVEL=2
if [ "$#" -gt 0 ]; then
    exec .venv/bin/python -m pytest -q -ra "$@"
fi
echo "== fast tier"
.venv/bin/python -m pytest -q -ra -m "not slow"
echo "== slow tier"
.venv/bin/python -m pytest -q -ra -m slow
