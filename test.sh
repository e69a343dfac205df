#!/usr/bin/env bash
# Run the whole test suite: ./test.sh [pytest args]
#   Sets up .venv with the runtime and test requirements, installs Debian's Chromium, wrk and
#   PostgreSQL where they are missing, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")"
./start.sh --setup-only
# Test needs on top of the runtime ones (same stamp logic as start.sh).
stamp=.venv/.dev-stamp
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing requirements-dev.txt" >&2
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
# Debian packages the tests drive: Chromium (browser tests), wrk (benchmark smoke test),
# PostgreSQL (the gateway on DATABASE_URL=postgresql://...).
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq $missing >/dev/null
fi
exec .venv/bin/python -m pytest "$@"
