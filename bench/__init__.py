"""Benchmark: direct vs a bare lean mitmproxy vs the gateway, on one machine (python -m bench)."""
