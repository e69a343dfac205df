"""python -m bench.chain [--selling]: what the gateway's own hooks cost per request, in one
process.

The wrk figures depend on a shared machine; this one barely does. It builds the real chain on a
fresh database (a customer with a plan that never refuses), runs the bench's request through
every hook with mitmproxy's test flows, and reports microseconds per request: the whole chain
(the usage writer working alongside) and each member, best of three runs of N requests.

With --selling, what selling adds: the same chain for three customers side by side, their runs
alternated (best of five each): an allowance in raw tokens (as before selling), the same in
weighted tokens with credit on, and pay-as-you-go (every call reserved and paid from credit);
in memory, and with the limits in a private redis-server when one is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import os
import tempfile
import time

HOOKS = ("requestheaders", "request", "responseheaders", "response")


def setup(tmp: str) -> str:
    from bench.__main__ import provision

    os.environ.update({"DATA_DIR": tmp, "OPENAI_API_KEY": "sk-bench", "ACCESS_LOG": f"{tmp}/log",
                       "ADMIN_PASSWORD": "bench-admin-password"})
    return provision(dict(os.environ))


def selling_customers(env: dict) -> dict[str, str]:
    """Keys of customers with a large allowance in raw tokens (selling's baseline, as before
    it), in weighted tokens spending credit, and of a pay-as-you-go one (credit enough never to
    be refused)."""
    import subprocess
    import sys

    from bench.__main__ import ROOT

    def admin(*a: str) -> str:
        return subprocess.run([sys.executable, "-m", "admin", *a], cwd=ROOT, env=env,
                              check=True, capture_output=True, text=True).stdout

    keys = {}
    for name, tokens, mode in (("raw", "1000000000000", "raw"),
                               ("weighted", "1000000000000", "weighted"),
                               ("payg", "0", "weighted")):
        admin("create-plan", name, "--rpm", "100000000", "--monthly-tokens", tokens,
              "--allowance", mode)
        admin("create-user", f"{name}@example.com", "--plan", name)
        admin("grant-credits", f"{name}@example.com", "1000000", "--reason", "bench")
        keys[name] = admin("create-key", f"{name}@example.com").strip()
    from models import User, bind

    bind(env.get("DATABASE_URL") or f"sqlite:///{env['DATA_DIR']}/gateway.db")
    User.update(spend_credit=True).where(User.email.in_(
        ["weighted@example.com", "payg@example.com"])).execute()
    return keys


def measure(n: int = 20000) -> dict:
    key = setup(tempfile.mkdtemp(prefix="llm-gateway-chain-"))
    return _measure(n, {"raw": key})


def selling(n: int = 20000, redis_url: str | None = None) -> dict:
    """Per-request µs of the chain for the raw, weighted+credit and pay-as-you-go customers."""
    setup(tempfile.mkdtemp(prefix="llm-gateway-selling-"))
    keys = selling_customers(dict(os.environ))
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    try:
        return _measure(n, keys, rounds=5)
    finally:
        os.environ.pop("REDIS_URL", None)


def _measure(n: int, keys: dict[str, str], rounds: int = 3) -> dict:
    """The chain for each customer of `keys`, runs alternated; with one, per member too."""
    from mitmproxy import http
    from mitmproxy.test import taddons, tflow, tutils

    import config
    from addons.call import CALL
    from addons.runtime.gateway import build_chain
    from bench.__main__ import BODY
    from bench.upstream import BODY as RESPONSE
    from models import bind

    body = json.dumps(BODY).encode()
    loop = asyncio.new_event_loop()
    cfg = config.load()
    bind(cfg.database_url)
    with taddons.context():
        chain, services = build_chain(cfg)
        services.writer.start()
        if cfg.redis_url:  # its settlements are sent from the loop

            async def start() -> None:
                services.limiter.start()

            loop.run_until_complete(start())
        gc.collect()
        gc.freeze()  # as the gateway does once started

        def headers(key: str):
            return http.Headers([(b"host", b"127.0.0.1:8080"),
                                 (b"content-type", b"application/json"),
                                 (b"authorization", b"Bearer " + key.encode()),
                                 (b"content-length", b"%d" % len(body))])
        response_headers = [(b"content-type", b"application/json"),
                            (b"content-length", b"%d" % len(RESPONSE))]
        current = {"headers": headers(next(iter(keys.values())))}

        def flow():
            return tflow.tflow(req=tutils.treq(
                host="127.0.0.1", port=1, path=b"/v1/openai/chat/completions", method=b"POST",
                content=body, headers=current["headers"].copy()))

        def response():
            return tutils.tresp(content=RESPONSE, headers=http.Headers(response_headers))

        def run(call) -> float:
            """Seconds per request for `call(hook, flow)` over every hook, flows built outside."""
            total = 0.0
            for _ in range(n):
                f = flow()
                for hook in HOOKS:
                    if hook == "responseheaders":
                        f.response = response()
                    t = time.perf_counter()
                    pending = call(hook, f)
                    if pending is not None:  # a key-cache miss: the look-up, off the clock
                        total += time.perf_counter() - t
                        loop.run_until_complete(pending)
                        t = time.perf_counter()
                    total += time.perf_counter() - t
                assert f.response.status_code == 200 and f.metadata[CALL].usage, f.response
            return total / n

        if len(keys) > 1:
            # The hooks' time, and the process's CPU (the usage writer's thread included,
            # which charges raw-token calls off the loop), both per request.
            best: dict[str, float] = {}
            cpu: dict[str, float] = {}
            for r in range(rounds):
                for name in (list(keys) if r % 2 == 0 else list(keys)[::-1]):
                    current["headers"] = headers(keys[name])
                    start = time.process_time()
                    t = run(lambda hook, f: chain.hooks[hook](f))
                    while services.writer.backlog():
                        time.sleep(0.01)
                    used = (time.process_time() - start) / n
                    best[name] = min(best.get(name, t), t)
                    cpu[name] = min(cpu.get(name, used), used)
            services.writer.stop()
            us = {k: round(v * 1e6, 1) for k, v in best.items()}
            cpu_us = {k: round(v * 1e6, 1) for k, v in cpu.items()}
            return {"requests": n, "redis": bool(cfg.redis_url), "chain_us": us,
                    "over_raw_us": {k: round(v - us["raw"], 1) for k, v in us.items()},
                    "cpu_us": cpu_us,
                    "cpu_over_raw_us": {k: round(v - cpu_us["raw"], 1)
                                        for k, v in cpu_us.items()}}
        whole = min(run(lambda hook, f: chain.hooks[hook](f)) for _ in range(3))
        members = {h: [getattr(m, h) for m in chain.members if hasattr(m, h)] for h in HOOKS}
        runs = []
        for _ in range(3):
            per_member: collections.Counter = collections.Counter()

            def each(hook, f, per_member=per_member):
                for fn in members[hook]:
                    t = time.perf_counter()
                    pending = fn(f)
                    per_member[fn.__qualname__] += time.perf_counter() - t
                    if pending is not None:
                        loop.run_until_complete(pending)
            run(each)
            runs.append(per_member)
        per_member = min(runs, key=lambda c: sum(c.values()))
        services.writer.stop()
    return {"requests": n, "chain_us": round(whole * 1e6, 1),
            "members_us": {k: round(v / n * 1e6, 1) for k, v in per_member.most_common()}}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.chain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=20000, help="requests per run")
    parser.add_argument("--selling", action="store_true",
                        help="raw tokens against weighted+credit and pay-as-you-go")
    parser.add_argument("--selling-with", metavar="REDIS_URL", help=argparse.SUPPRESS)
    parser.add_argument("--customer", choices=["raw", "weighted", "payg"],
                        help="the chain for one of --selling's customers alone (for callgrind)")
    args = parser.parse_args()
    if args.customer:
        setup(tempfile.mkdtemp(prefix="llm-gateway-selling-"))
        r = _measure(args.n, {args.customer: selling_customers(dict(os.environ))[args.customer]})
        print(f"{args.customer}: {r['chain_us']} us per request")
        return
    if args.selling_with is not None:  # one process of selling_both's
        print(json.dumps(selling(args.n, args.selling_with or None)))
        return
    if args.selling:
        for r in selling_both(args.n):
            print(f"selling ({'redis' if r['redis'] else 'memory'}): hooks {r['chain_us']} us "
                  f"per request, over raw {r['over_raw_us']}; process CPU {r['cpu_us']} us, "
                  f"over raw {r['cpu_over_raw_us']}")
        return
    r = measure(args.n)
    print(f"chain: {r['chain_us']} us per request (best of 3 runs of {r['requests']})")
    for name, us in r["members_us"].items():
        print(f"  {us:6.1f} us  {name}")


def selling_both(n: int) -> list[dict]:
    """`selling` in memory, then with a private redis-server (when installed), each in a
    process of its own."""
    import shutil
    import subprocess
    import sys

    from bench.__main__ import ROOT, free_port

    def one(url: str) -> dict:
        out = subprocess.run([sys.executable, "-O", "-m", "bench.chain", "-n", str(n),
                              "--selling-with", url], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    results = [one("")]
    binary = shutil.which("redis-server")
    if binary is None:
        return results
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        results.append(one(f"redis://127.0.0.1:{port}/0"))
    finally:
        proc.terminate()
        proc.wait()
    return results


if __name__ == "__main__":
    main()
