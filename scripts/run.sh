#!/usr/bin/env bash
# Sets everything up, indexes the bundled sample articles and opens the web chat on http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV=${NEWSDESK_VENV:-.venv}
"$VENV/bin/newsdesk" index data/sample
exec "$VENV/bin/newsdesk" serve "$@"
