#!/usr/bin/env bash
# Installs everything newsdesk needs into ./.venv (idempotent: a second run with the same pyproject.toml is instant).
# With --browser it also installs Debian's chromium + chromium-driver for the end-to-end web tests.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${NEWSDESK_VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.newsdesk-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing newsdesk and its dependencies (first time: a few minutes)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
  echo "$want" > "$stamp"
fi

if [ "${1:-}" = "--browser" ]; then
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "==> installing chromium and chromium-driver (Debian) for the browser tests"
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
      echo "!! chromium/chromedriver missing and cannot be installed here (needs root + apt-get):" >&2
      echo "!! the browser tests will be skipped. Install them with: sudo apt-get install chromium chromium-driver" >&2
    fi
  fi
fi
