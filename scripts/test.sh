#!/usr/bin/env bash
# Sets everything up (including the browser for the web tests) and runs the whole test suite plus ruff.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
VENV=${NEWSDESK_VENV:-.venv}
"$VENV/bin/ruff" check .
exec "$VENV/bin/python" -m pytest "$@"
