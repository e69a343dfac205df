"""python -m bench.peer [--workers N] [--rounds N] [--duration S]: the gateway against LiteLLM's
proxy, the best-known open-source peer, on the same fake upstream in the same run.

LiteLLM 1.110.2 and its proxy's dependencies (listed below) are installed into a venv of its
own under bench/.peer-venv on first use. Its key database needs Prisma binaries that it
downloads when it starts, which fails on a machine without that access, so it runs in its
strongest configuration that does run here: no database, the master key as the only key (no
per-customer keys, limits or spend tracking, which the gateway does on every request), one model
routed to the fake upstream, `--num_workers N`. The gateway runs with `--workers N` and Redis
limits (N > 1) or alone (N = 1). Both are measured A/B at concurrency 16 with wrk; the figures
are req/s in all and per worker.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from .__main__ import ROOT, Bench, Target, free_port, provision, wait_port
from .shared import private_redis, wrk

# `litellm[proxy]` needs `litellm-proxy`, which this machine's package index does not carry; the
# proxy server is in `litellm` itself and runs with these of its proxy dependencies.
LITELLM = ["litellm==1.110.2", "uvicorn", "fastapi", "starlette", "backoff", "pyyaml", "orjson",
           "apscheduler", "python-multipart", "cryptography", "pyjwt", "rq", "websockets",
           "uvloop", "pynacl", "rich", "tomlkit", "semver", "fastapi-sso", "expression", "polars",
           "soundfile", "restrictedpython", "inquirerpy", "mcp", "httpx2", "boto3",
           "backports-zstd", "litellm-proxy-extras", "litellm-enterprise"]
VENV = ROOT / "bench" / ".peer-venv"
MASTER_KEY = "sk-litellm-bench-master"


def litellm() -> Path:
    """The `litellm` command of the peer's own venv, installed on first use."""
    exe = VENV / "bin" / "litellm"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        *LITELLM], check=True)
    return exe


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peer")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    exe = litellm()
    bench = Bench(args)
    with private_redis() as redis_url:
        try:
            compare(bench, args, exe, redis_url)
        finally:
            bench.teardown()


def compare(bench: Bench, args, exe: Path, redis_url: str) -> None:
    up_port = free_port()
    bench.spawn("-m", "bench.upstream", "--port", str(up_port), log="upstream")
    wait_port(up_port)
    upstream = f"http://127.0.0.1:{up_port}"
    env = {**os.environ, "DATA_DIR": str(bench.tmp / "data"), "OPENAI_API_KEY": "sk-bench",
           "UPSTREAM_OPENAI_URL": upstream, "ADMIN_PASSWORD": "bench-admin-password",
           "ACCESS_LOG": str(bench.tmp / "access.log")}
    if args.workers > 1:
        env["REDIS_URL"] = redis_url
    key = provision(env)
    gw_port, peer_port = free_port(), free_port()
    gateway = Target("gateway", gw_port, "/v1/openai/chat/completions",
                     {"Authorization": f"Bearer {key}"})
    gateway.start_fn = lambda: bench.spawn(
        "-O", "-m", "addons", "--port", str(gw_port), "--workers", str(args.workers),
        env=env, log="gateway")
    config = bench.tmp / "litellm.yaml"
    config.write_text(
        "model_list:\n  - model_name: gpt-4o-mini\n    litellm_params:\n"
        f"      model: openai/gpt-4o-mini\n      api_base: {upstream}/v1\n"
        "      api_key: sk-bench\n"
        f"general_settings:\n  master_key: {MASTER_KEY}\n")
    peer = Target("litellm", peer_port, "/v1/chat/completions",
                  {"Authorization": f"Bearer {MASTER_KEY}"})
    peer_env = {**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
                "LITELLM_LOCAL_MODEL_COST_MAP": "True"}  # no fetch from GitHub at start
    peer_log = open(bench.tmp / "litellm.log", "ab")
    gateway.restart()
    peer.proc = subprocess.Popen([str(exe), "--config", str(config), "--host", "127.0.0.1",
                                  "--port", str(peer_port), "--num_workers", str(args.workers)],
                                 env=peer_env, stdout=peer_log, stderr=subprocess.STDOUT)
    bench.procs.append(peer.proc)  # stopped with the rest
    wait_port(peer_port, timeout=120)
    for t in (gateway, peer):
        wrk(t, bench.tmp, 16, 3)  # warm
    runs: dict[str, list[dict]] = {"gateway": [], "litellm": []}
    for r in range(args.rounds):
        for t in ((gateway, peer) if r % 2 == 0 else (peer, gateway)):
            runs[t.name].append(wrk(t, bench.tmp, 16, args.duration))
            print(f"round {r} {t.name}: {runs[t.name][-1]}", flush=True)
    med = {n: statistics.median(w["rps"] for w in ws) for n, ws in runs.items()}
    errors = {n: sum(w["non2xx"] for w in ws) for n, ws in runs.items()}
    n = args.workers
    print(f"{n} worker(s) each: gateway {med['gateway']:,.0f} req/s "
          f"({med['gateway'] / n:,.0f} per worker), LiteLLM {med['litellm']:,.0f} req/s "
          f"({med['litellm'] / n:,.0f} per worker): {med['gateway'] / med['litellm']:.1f}x; "
          f"non-2xx {errors}")


if __name__ == "__main__":
    main()
