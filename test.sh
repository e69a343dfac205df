#!/usr/bin/env bash
# Run the whole test suite: ./test.sh [pytest args]
#   Sets up .venv with the project and its test requirements, installs Debian's Chromium, wrk,
#   PostgreSQL and Redis where they are missing, lints with ruff, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")"
./start.sh --setup-only --with-dev
# Debian packages the tests drive: Chromium (browser tests), wrk (benchmark smoke test),
# PostgreSQL and Redis (several gateways sharing a database and limits), iproute2 (gateways in
# network namespaces of their own, as separate hosts). The tests start private
# instances of them on free loopback ports; the system's services are not used.
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"  # network namespaces as hosts
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq $missing >/dev/null
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
