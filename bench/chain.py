"""python -m bench.chain: what the gateway's own hooks cost per request, in one process.

The wrk figures depend on a shared machine; this one barely does. It builds the real chain on a
fresh database (a customer with a plan that never refuses), runs the bench's request through
every hook with mitmproxy's test flows, and reports microseconds per request: the whole chain
(the usage writer working alongside) and each member, best of three runs of N requests.
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


def measure(n: int = 20000) -> dict:
    from mitmproxy import http
    from mitmproxy.test import taddons, tflow, tutils

    import config
    from addons.call import CALL
    from addons.runtime.gateway import build_chain
    from bench.__main__ import BODY
    from bench.upstream import BODY as RESPONSE
    from models import bind

    key = setup(tempfile.mkdtemp(prefix="llm-gateway-chain-"))
    body = json.dumps(BODY).encode()
    loop = asyncio.new_event_loop()
    cfg = config.load()
    bind(cfg.database_url)
    with taddons.context():
        chain, services = build_chain(cfg)
        services.writer.start()
        gc.collect()
        gc.freeze()  # as the gateway does once started

        request_headers = [(b"host", b"127.0.0.1:8080"), (b"content-type", b"application/json"),
                           (b"authorization", b"Bearer " + key.encode()),
                           (b"content-length", b"%d" % len(body))]
        response_headers = [(b"content-type", b"application/json"),
                            (b"content-length", b"%d" % len(RESPONSE))]

        def flow():
            return tflow.tflow(req=tutils.treq(
                host="127.0.0.1", port=1, path=b"/v1/openai/chat/completions", method=b"POST",
                content=body, headers=http.Headers(request_headers)))

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
    r = measure(parser.parse_args().n)
    print(f"chain: {r['chain_us']} us per request (best of 3 runs of {r['requests']})")
    for name, us in r["members_us"].items():
        print(f"  {us:6.1f} us  {name}")


if __name__ == "__main__":
    main()
