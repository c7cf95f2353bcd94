#!/usr/bin/env bash
# Installs everything newsdesk needs into ./.venv (idempotent: a second run with the same pyproject.toml is instant).
# With --browser (what scripts/test.sh passes) it also installs Debian's chromium + chromium-driver for the end-to-end
# web tests and fills the wheelhouse below; --wheelhouse fills only the wheelhouse.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${NEWSDESK_VENV:-.venv}

browser=0 wheelhouse=0
for arg in "$@"; do
  case "$arg" in
    --browser) browser=1 wheelhouse=1 ;;
    --wheelhouse) wheelhouse=1 ;;
    *) echo "usage: $0 [--browser] [--wheelhouse]" >&2; exit 2 ;;
  esac
done

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

# Wheels of newsdesk's runtime and build requirements (never newsdesk itself: it changes while developing), from which
# tests/test_packaging.py installs the built wheel with --no-index: a test must not reach the package registry.
# Test path only: a few hundred MB that scripts/run.sh does not need. pip wheel (not download) so sdists arrive built
# and the offline install needs no build backend; it resolves for this venv's Python and platform, the same as the
# test's fresh venv. Rebuilt from scratch in a new folder, swapped in at the end, only when pyproject.toml or the
# Python changes: it then holds exactly what the current requirements resolve to, and an interrupted run leaves no
# half-filled wheelhouse behind a valid stamp.
if [ "$wheelhouse" = 1 ]; then
  wheels="$VENV/wheelhouse"
  wheels_want="$(sha256sum pyproject.toml | cut -d' ' -f1) $("$VENV/bin/python" -c \
    'import sys, sysconfig; print(sys.implementation.cache_tag, sysconfig.get_platform())')"
  if [ ! -f "$wheels/.newsdesk-requirements" ] || [ "$(cat "$wheels/.newsdesk-requirements")" != "$wheels_want" ]; then
    echo "==> downloading wheels of newsdesk's dependencies into $wheels for the packaging test (first time: minutes)"
    requirements="$("$VENV/bin/python" - <<'EOF'
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the copy pip vendors
    from pip._vendor import tomli as tomllib
with open("pyproject.toml", "rb") as f:
    pyproject = tomllib.load(f)
print("\n".join(pyproject["project"]["dependencies"] + pyproject["build-system"]["requires"]))
EOF
)"
    mapfile -t requirements <<<"$requirements"
    rm -rf "$wheels.new"
    "$VENV/bin/python" -m pip wheel --quiet --disable-pip-version-check -w "$wheels.new" "${requirements[@]}"
    echo "$wheels_want" > "$wheels.new/.newsdesk-requirements"
    rm -rf "$wheels"
    mv "$wheels.new" "$wheels"
  fi
fi

if [ "$browser" = 1 ]; then
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

# axe-core (accessibility rules) for tests/test_web_a11y.py: a pinned npm package in $VENV/axe, whose axe.min.js the
# test reads from disk and injects into the page (nothing is fetched at test time). No npm: the test skips, saying so.
AXE_VERSION=4.14.1
if [ "$browser" = 1 ]; then
  axe="$VENV/axe"
  if [ -f "$axe/node_modules/axe-core/axe.min.js" ] && [ "$(cat "$axe/.version" 2>/dev/null)" = "$AXE_VERSION" ]; then
    :
  elif command -v npm >/dev/null 2>&1; then
    echo "==> installing axe-core $AXE_VERSION (npm) into $axe for the accessibility test"
    mkdir -p "$axe"
    npm install --prefix "$axe" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
      "axe-core@$AXE_VERSION" >/dev/null
    echo "$AXE_VERSION" > "$axe/.version"
  else
    echo "!! npm missing: axe-core not installed, the accessibility test will be skipped" >&2
  fi
fi
