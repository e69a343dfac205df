#!/usr/bin/env bash
# Start llm-gateway: ./start.sh [--port N] [--web] [--workers N] [--demo]
#   Creates .venv (Python 3.12+) and installs requirements when needed, creates or upgrades the
#   database, then runs the gateway in the foreground (Ctrl-C or SIGTERM stops it).
#   --demo answers from fake providers on loopback instead (no provider key needed).
#   --setup-only prepares the venv and exits; with --with-dev, with the test requirements too
#   (the test command uses it).
set -euo pipefail
cd "$(dirname "$0")"

# Sets $py to a Python 3.12+ interpreter, or lists what it found in $found.
find_python() {
  local candidate version
  py=""; found=""
  for candidate in "${PYTHON:-}" python3.12 python3.13 python3.14 python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    version=$("$candidate" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null) || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      py="$candidate"; return 0
    fi
    found="$found $candidate ($version)"
  done
  return 1
}

# Installs this project (editable: the checkout is what runs) with its pinned requirements and
# the extras named in $1 ("" or "[dev]"), when the files that decide them changed.
setup_venv() {
  local extras="$1" stamp=".venv/.requirements-stamp$1" want
  if [ ! -x .venv/bin/python ]; then
    if ! find_python; then
      echo "error: llm-gateway needs Python 3.12 or newer (mitmproxy 12); found:${found:- no python3}." >&2
      echo "Install Python 3.12+ or set PYTHON=/path/to/python3.12." >&2
      exit 1
    fi
    echo "creating .venv with $("$py" --version)" >&2
    "$py" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
  fi
  want=$( (echo "$extras"; cat pyproject.toml requirements.txt requirements-dev.txt) | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "installing llm-gateway$extras and its requirements" >&2
    .venv/bin/python -m pip install --quiet --quiet -e ".$extras"  # -qq: errors only
    # The gateway runs optimized (-O, below), whose bytecode pip does not write: compiled once
    # here, a start takes half the time (PYTHONDONTWRITEBYTECODE would keep it from caching).
    .venv/bin/python -O -m compileall -q -j 0 .venv/lib >/dev/null || true
    echo "$want" > "$stamp"
  fi
}

port=""; web=""; workers=""; setup_only=""; extras=""; demo=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --port=*) port="${1#*=}"; shift ;;
    --web) web="--web"; shift ;;
    --workers) workers="$2"; shift 2 ;;
    --workers=*) workers="${1#*=}"; shift ;;
    --setup-only) setup_only=1; shift ;;
    --demo) demo=1; shift ;;
    --with-dev) extras="[dev]"; shift ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ -n "$setup_only" ]; then
  setup_venv "$extras"
  exit 0
fi
setup_venv ""
if [ -n "$demo" ]; then
  # The fake providers of the tests (tests/fakes/), answering as the real ones do, with
  # their own keys: nothing leaves this machine. Each run keeps its own database.
  export DATA_DIR="${DATA_DIR:-data/demo}"
  export ANTHROPIC_API_KEY=demo-anthropic-key OPENAI_API_KEY=demo-openai-key \
    GEMINI_API_KEY=demo-gemini-key
  export UPSTREAM_ANTHROPIC_URL=http://127.0.0.1:18481 UPSTREAM_OPENAI_URL=http://127.0.0.1:18482 \
    UPSTREAM_GEMINI_URL=http://127.0.0.1:18483
  .venv/bin/python -m tests.fakes &
  fakes=$!
  trap 'kill $fakes 2>/dev/null' EXIT
  echo "demo: fake providers on 127.0.0.1:18481-18483 (no provider key is used)" >&2
fi
for name in ANTHROPIC OPENAI GEMINI; do
  key="${name}_API_KEY"
  [ -n "${!key:-}" ] || echo "warning: $key is not set: that provider is not served (its routes answer 503) (./start.sh --demo runs without any key)" >&2
done
.venv/bin/python -m admin init-db
# -O: mitmproxy type-checks every request and response it builds and every layer event unless
# Python runs optimized (`if __debug__` in mitmproxy/http.py and proxy/utils.py); about a sixth
# of the proxy's time per request. Our code does not rely on assert.
if [ -n "$demo" ]; then  # not exec: the fakes stop with it
  .venv/bin/python -O -m addons ${port:+--port "$port"} ${workers:+--workers "$workers"} $web
  exit $?
fi
exec .venv/bin/python -O -m addons ${port:+--port "$port"} ${workers:+--workers "$workers"} $web
