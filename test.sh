#!/usr/bin/env bash
# Run the whole test suite: ./test.sh [pytest args]
#   Sets up .venv with the project and its test requirements, installs Debian's Chromium, wrk,
#   PostgreSQL, Redis and Node.js where they are missing, the Node SDKs the tests drive (npm
#   ci in tests/node), lints with ruff, then runs pytest.
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
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"  # the Node SDKs' tests
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo apt-get install -y -qq $missing >/dev/null
fi
# The Node clients the unified API's tests drive (OpenAI's SDK, the Vercel AI SDK), pinned
# by tests/node/package-lock.json.
if [ ! -d tests/node/node_modules ] || [ tests/node/package-lock.json -nt tests/node/node_modules ]; then
  npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
  touch tests/node/node_modules
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
