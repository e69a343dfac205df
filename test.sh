#!/usr/bin/env bash
# Run the whole test suite: ./test.sh [pytest args]
#   Sets up .venv with the runtime and test requirements, installs Debian's Chromium for the
#   browser tests where it is missing, then runs pytest.
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
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi
fi
exec .venv/bin/python -m pytest "$@"
