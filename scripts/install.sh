#!/usr/bin/env bash
# Installs everything ndrc needs for development into ./.venv (idempotent): Python packages and the
# asl-validator and yaml-language-server npm packages used by the tests. Needs python3 (>= 3.11), Java 17 for Spark, node/npm.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'

if command -v npm >/dev/null 2>&1; then
  npm install --silent --no-audit --no-fund --prefix .ci/node asl-validator@4 jsonata@2 yaml-language-server@1 >/dev/null
else
  echo "install: npm not found; the asl-validator and yaml-language-server checks will be skipped" >&2
fi
if ! command -v java >/dev/null 2>&1; then
  echo "install: java not found; installing a JRE for Spark" >&2
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless) >/dev/null
  fi
fi
# Debian's Chromium renders the HTML reports in the tests (headless, loopback only).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "install: installing Debian's chromium for the HTML report checks" >&2
  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null \
    || echo "install: chromium could not be installed; the browser checks will be skipped" >&2
fi
echo "install: ready (.venv)"
