"""python -m tests.fakes: the demo's fake providers (./start.sh --demo)."""

from . import serve_demo

serve_demo()
