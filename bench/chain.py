"""python -m bench.chain [--selling | --unified]: what the gateway's own hooks cost per
request, in one process.

The wrk figures depend on a shared machine; this one barely does. It builds the real chain on a
fresh database (a customer with a plan that never refuses), runs the bench's request through
every hook with mitmproxy's test flows, and reports microseconds per request: the whole chain
(the usage writer working alongside) and each member, best of three runs of N requests.

With --selling, what selling adds: the same chain for three customers side by side, their runs
alternated (best of five each): an allowance in raw tokens (as before selling), the same in
weighted tokens with credit on, and pay-as-you-go (every call reserved and paid from credit);
in memory, and with the limits in a private redis-server when one is installed.

With --keys, what a pool of provider keys adds: the same chain with one OpenAI key and with
three (each answer carrying the provider's rate-limit headers, read to prefer keys with room),
and with three of which one is cooling after a 429; runs alternated (best of five each).

With --unified, what the unified API adds: the same Claude call on its native route and as a
chat completion translated, runs alternated (best of five each), and per streamed event the
native stream's parser against the translating one.
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
                       "ANTHROPIC_API_KEY": "sk-ant-bench",
                       "ADMIN_PASSWORD": "bench-admin-password"})
    return provision(dict(os.environ))


def selling_customers(env: dict) -> dict[str, str]:
    """Keys of customers with a large allowance in raw tokens (selling's baseline, as before
    it), in weighted tokens spending credit, and of a pay-as-you-go one (credit enough never to
    be refused)."""
    from bench.__main__ import admin_batch

    commands = []
    for name, tokens, mode in (("raw", "1000000000000", "raw"),
                               ("weighted", "1000000000000", "weighted"),
                               ("payg", "0", "weighted")):
        commands += [["create-plan", name, "--rpm", "100000000", "--monthly-tokens", tokens,
                      "--allowance", mode],
                     ["create-user", f"{name}@example.com", "--plan", name],
                     ["grant-credits", f"{name}@example.com", "1000000", "--reason", "bench"],
                     ["create-key", f"{name}@example.com"]]
    printed = admin_batch(env, *commands, init=False)  # made by `setup`
    keys = dict(zip(("raw", "weighted", "payg"), printed[3::4]))
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


# The unified API's bench: the same Claude call on the native route and translated from a
# chat completion, each with Anthropic's answer.
CLAUDE_ANSWER = json.dumps({
    "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Hello! How can I help you today?"}],
    "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 9, "output_tokens": 9}}).encode()
CALLS = {
    "native": (b"/v1/anthropic/v1/messages", {
        "model": "claude-sonnet-4-5", "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hi"}]}, CLAUDE_ANSWER),
    "unified": (b"/v1/chat/completions", {
        "model": "claude-sonnet-4-5", "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hi"}]}, CLAUDE_ANSWER),
}


def unified(n: int) -> dict:
    """The hooks per request of a Claude call on its native route and on the unified one,
    runs alternated; and per streamed event, the native stream's parser and the translating
    one (which parses it too), over the same stream."""
    key = setup(tempfile.mkdtemp(prefix="llm-gateway-unified-"))
    hooks = _measure(n, {name: key for name in CALLS}, rounds=5, calls=CALLS)
    from addons.providers.anthropic.chat import ChatStream
    from addons.providers.anthropic.usage import AnthropicStream

    def sse(obj: dict) -> bytes:
        return f"event: {obj['type']}\ndata: {json.dumps(obj)}\n\n".encode()

    events = [sse({"type": "message_start", "message": {
        "id": "msg_01", "model": "claude-sonnet-4-5",
        "usage": {"input_tokens": 9, "output_tokens": 1}}}),
        sse({"type": "content_block_start", "index": 0,
             "content_block": {"type": "text", "text": ""}})]
    events += [sse({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": "word "}})] * 200
    events += [sse({"type": "content_block_stop", "index": 0}),
               sse({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                    "usage": {"output_tokens": 200}}),
               sse({"type": "message_stop"})]
    data = b"".join(events)
    per_event = {}
    for name, cls in (("native", AnthropicStream), ("unified", ChatStream)):
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(max(1, n // 200)):
                p = cls()
                for i in range(0, len(data), 97):
                    p.feed(data[i:i + 97])
                p.finish()
            best = min(best, (time.perf_counter() - t) / max(1, n // 200) / len(events))
        per_event[name] = round(best * 1e6, 2)
    return {**hooks, "stream_event_us": per_event, "events": len(events)}


# The pools --keys compares, the first the baseline; the answer's rate-limit headers, OpenAI's.
POOLS = {"1 key": ("sk-bench-0001",), "3 keys": ("sk-bench-0001", "sk-bench-0002",
                                                  "sk-bench-0003"),
         "3 keys, 1 cooling": ("sk-bench-0001", "sk-bench-0002", "sk-bench-0003")}
RATE_LIMIT_HEADERS = [(b"x-ratelimit-limit-requests", b"10000"),
                      (b"x-ratelimit-remaining-requests", b"9999"),
                      (b"x-ratelimit-reset-requests", b"6ms"),
                      (b"x-ratelimit-limit-tokens", b"30000000"),
                      (b"x-ratelimit-remaining-tokens", b"29999990"),
                      (b"x-ratelimit-reset-tokens", b"0s")]


def key_pools(n: int) -> dict:
    """The chain per request with each of POOLS as the OpenAI keys, runs alternated."""
    from bench.__main__ import BODY

    key = setup(tempfile.mkdtemp(prefix="llm-gateway-keys-"))

    def use(pool, name: str) -> None:
        from models.keyring import KeySpec

        pool.load({**{p: [k.spec for k in ks] for p, ks in pool.keys.items()},
                   "openai": [KeySpec("openai", f"k{i}", s)
                              for i, s in enumerate(POOLS[name])]})
        for k in pool.keys["openai"]:
            pool.enable(k)
        if "cooling" in name:
            pool.cool(pool.keys["openai"][0], BODY["model"], 3600)

    return _measure(n, {name: key for name in POOLS}, rounds=5, before=use,
                    answer_headers=RATE_LIMIT_HEADERS)


def _measure(n: int, keys: dict[str, str], rounds: int = 3, calls: dict | None = None,
             before=None, answer_headers=()) -> dict:
    """The chain for each customer of `keys`, runs alternated; with one, per member too.
    `calls`: each name's (path, body, answer) instead of the bench's chat completion.
    `before(pool, name)`: sets the key pool up before each name's run; `answer_headers`: more
    headers on the upstream's answer."""
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
        current = {"headers": headers(next(iter(keys.values()))),
                   "path": b"/v1/openai/chat/completions", "body": body, "answer": RESPONSE}

        def flow():
            return tflow.tflow(req=tutils.treq(
                host="127.0.0.1", port=1, path=current["path"], method=b"POST",
                content=current["body"], headers=current["headers"].copy()))

        def response():
            answer = current["answer"]
            return tutils.tresp(content=answer, headers=http.Headers([
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(answer)), *answer_headers]))

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
                    if before is not None:
                        from addons.members.upstreams import Upstreams

                        before(chain.member(Upstreams).pool, name)
                    if calls:
                        path, ask, answer = calls[name]
                        current.update(path=path, body=json.dumps(ask).encode(), answer=answer)
                        current["headers"]["content-length"] = str(len(current["body"]))
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
            base = next(iter(us))  # the first: raw tokens, or the native route
            return {"requests": n, "redis": bool(cfg.redis_url), "chain_us": us,
                    "over_raw_us": {k: round(v - us[base], 1) for k, v in us.items()},
                    "cpu_us": cpu_us,
                    "cpu_over_raw_us": {k: round(v - cpu_us[base], 1)
                                        for k, v in cpu_us.items()}}
        if calls:  # one customer's call, per member
            path, ask, answer = calls[next(iter(keys))]
            current.update(path=path, body=json.dumps(ask).encode(), answer=answer)
            current["headers"]["content-length"] = str(len(current["body"]))
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
    parser.add_argument("--unified", action="store_true",
                        help="a Claude call on its native route against the unified API")
    parser.add_argument("--unified-json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--keys", action="store_true",
                        help="one provider key against three, and three with one cooling")
    parser.add_argument("--customer", choices=["raw", "weighted", "payg"],
                        help="the chain for one of --selling's customers alone (for callgrind)")
    args = parser.parse_args()
    if args.customer:
        setup(tempfile.mkdtemp(prefix="llm-gateway-selling-"))
        r = _measure(args.n, {args.customer: selling_customers(dict(os.environ))[args.customer]})
        print(f"{args.customer}: {r['chain_us']} us per request")
        return
    if args.keys:
        r = key_pools(args.n)
        print(f"key pools: hooks {r['chain_us']} us per request, over one key "
              f"{r['over_raw_us']}; process CPU {r['cpu_us']} us, over one key "
              f"{r['cpu_over_raw_us']}")
        return
    if args.unified_json:  # one process of unified_run's
        print(json.dumps(unified(args.n)))
        return
    if args.unified:
        r = unified(args.n)
        print(f"unified: hooks {r['chain_us']} us per request, over native "
              f"{r['over_raw_us']}; process CPU {r['cpu_us']} us, over native "
              f"{r['cpu_over_raw_us']}; per streamed event {r['stream_event_us']} us "
              f"({r['events']} events)")
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


def unified_run(n: int) -> dict:
    """`unified` in a process of its own (a database of its own)."""
    import subprocess
    import sys

    from bench.__main__ import ROOT

    out = subprocess.run([sys.executable, "-O", "-m", "bench.chain", "-n", str(n),
                          "--unified-json"], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


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
