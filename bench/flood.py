"""python -m bench.flood [--workers N] [--seconds S] [--caps on|off|both] [--json]: fair share.

One address floods the gateway with wrk (128 keep-alive connections, flat out) while a real
customer calls it from another address with the official OpenAI SDK (`--client raw`: a bare
HTTP client, which shows the gateway's own share of the time), one call after the other; the
figure is that customer's median latency, quiet and under each flood:
  - unknown keys (made-up `gw-` keys, refused past the invalid-key throttle),
  - a revoked key,
  - a valid customer far over its rate (a plan of 1 request a minute).
With the caps on (the defaults) and off (`MAX_CONNECTIONS_PER_ADDRESS=0`, `FLOOD_DELAY=0`:
refusals still close their connection), so the table shows what they buy; `--root DIR` runs
the gateway of another checkout instead (an earlier release, for the figures before). wrk
connects from 127.0.0.1, the customer from 127.0.0.2: two addresses on one machine.
`--workers 2` runs two gateway processes on Redis.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import time
from contextlib import ExitStack

from bench.__main__ import PY, ROOT, Bench, admin_batch, free_port, wait_port, wrk_counts
from bench.shared import private_redis
from models.security import display_prefix

FLOOD_CONNECTIONS = 128
CUSTOMER_ADDRESS = "127.0.0.2"
BODY = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}],
                   "max_tokens": 16})
PATH = "/v1/openai/chat/completions"


def customers(env: dict, root) -> tuple[str, dict[str, str]]:
    """The customer's key (a plan that never refuses), and the floods' keys: made up (none),
    revoked, and a valid customer's on a plan of 1 request a minute."""
    good, over, revoked = admin_batch(  # by the gateway's own release: its schema
        env, ["create-plan", "Bench", "--rpm", "100000000", "--monthly-tokens", "unlimited"],
        ["create-user", "bench@example.com", "--plan", "Bench"],
        ["create-plan", "Trickle", "--rpm", "1", "--monthly-tokens", "unlimited"],
        ["create-user", "flood@example.com", "--plan", "Trickle"],
        ["create-key", "bench@example.com"], ["create-key", "flood@example.com"],
        ["create-key", "flood@example.com", "--name", "old"], root=root)[-3:]
    subprocess.run([PY, "-m", "admin", "revoke-key", display_prefix(revoked)], cwd=root,
                   env=env, check=True, capture_output=True)
    return good, {"unknown keys": "", "revoked key": revoked, "over its rate": over}


def flood_script(folder, name: str, key: str):
    """wrk's Lua: the chat request with the flood's key (a new made-up key per request when
    `key` is empty)."""
    script = folder / f"flood-{name.replace(' ', '-')}.lua"
    auth = (f'"Bearer {key}"' if key else
            '"Bearer gw-" .. string.format("%08x%08x%08x", math.random(0, 2^31), '
            'math.random(0, 2^31), math.random(0, 2^31))')
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(BODY)}\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'request = function()\n  wrk.headers["Authorization"] = {auth}\n'
        '  return wrk.format()\nend\n')
    return script


class Customer:
    """Calls one after the other on a keep-alive connection from its own address; reconnects
    when the gateway closes it, as an SDK does. Counts what failed."""

    def __init__(self, port: int, key: str, sdk: bool = True) -> None:
        self.port, self.key = port, key
        self.conn: http.client.HTTPConnection | None = None
        self.sdk = None
        if sdk:  # the SDK's own retries off: a call that fails counts as failed
            import httpx
            import openai

            self.sdk = openai.OpenAI(
                base_url=f"http://127.0.0.1:{port}/v1/openai", api_key=key, max_retries=0,
                timeout=30, http_client=httpx.Client(transport=httpx.HTTPTransport(
                    local_address=CUSTOMER_ADDRESS)))

    def call(self) -> float:
        if self.sdk is not None:
            start = time.perf_counter()
            answer = self.sdk.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}],
                max_tokens=16)
            took = time.perf_counter() - start
            if answer.usage is None:
                raise RuntimeError("the customer's answer has no usage")
            return took
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                                   source_address=(CUSTOMER_ADDRESS, 0))
        start = time.perf_counter()
        self.conn.request("POST", PATH, BODY, {"Authorization": f"Bearer {self.key}",
                                               "Content-Type": "application/json"})
        resp = self.conn.getresponse()
        data = resp.read()
        took = time.perf_counter() - start
        if resp.status != 200 or b"usage" not in data:
            raise RuntimeError(f"the customer's call failed: {resp.status} {data[:200]!r}")
        if resp.will_close:
            self.conn.close()
            self.conn = None
        return took

    def measure(self, seconds: float) -> dict:
        times, failed = [], 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                times.append(self.call())
            except Exception:
                failed += 1
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
        times.sort()
        return {"calls": len(times), "failed": failed,
                "p50_ms": round(statistics.median(times) * 1000, 2) if times else None,
                "p90_ms": round(times[int(len(times) * 0.9)] * 1000, 2) if times else None}


def flood(port: int, script, seconds: float) -> subprocess.Popen:
    return subprocess.Popen(["wrk", "-t1", f"-c{FLOOD_CONNECTIONS}", f"-d{seconds:.0f}s",
                             "-s", str(script), f"http://127.0.0.1:{port}{PATH}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def scenario(bench: Bench, port: int, customer: Customer, name: str, key: str,
             seconds: float) -> dict:
    """The customer's latency while one flood runs (it starts a second before)."""
    if not name:
        return customer.measure(seconds)
    proc = flood(port, flood_script(bench.tmp, name, key), seconds + 30)
    try:
        time.sleep(1.0)
        found = customer.measure(seconds)
    finally:
        proc.send_signal(signal.SIGINT)  # wrk stops and reports
        out = proc.communicate(timeout=30)[0]
    found["flood_rps"] = round(wrk_counts(out)[0])
    return found


def run_variant(bench: Bench, env: dict, keys: dict, good: str, caps: bool, workers: int,
                seconds: float, sdk: bool, root) -> dict:
    port = free_port()
    extra = ["--workers", str(workers)] if workers > 1 else []
    run_env = {**env, "ACCESS_LOG": "off"}
    if not caps:
        run_env.update(MAX_CONNECTIONS_PER_ADDRESS="0", FLOOD_DELAY="0")
    log = open(bench.tmp / f"flood-{'caps' if caps else 'nocaps'}.log", "ab")
    proc = subprocess.Popen([PY, "-O", "-m", "addons", "--port", str(port), *extra],
                            cwd=root, env=run_env, stdout=log, stderr=subprocess.STDOUT)
    bench.procs.append(proc)
    try:
        wait_port(port)
        customer = Customer(port, good, sdk)
        customer.measure(1.0)  # warm
        results = {"quiet": scenario(bench, port, customer, "", "", seconds)}
        for name, key in keys.items():
            results[name] = scenario(bench, port, customer, name, key, seconds)
        return results
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.flood", description=__doc__)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--caps", choices=("on", "off", "both"), default="both")
    parser.add_argument("--client", choices=("sdk", "raw"), default="sdk")
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose gateway runs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON last")
    args = parser.parse_args()
    bench = Bench(args)
    with ExitStack() as stack:
        stack.callback(bench.teardown)
        up_port = free_port()
        bench.spawn("-m", "bench.upstream", "--port", str(up_port), log="upstream")
        env = {**os.environ, "DATA_DIR": str(bench.tmp / "data"), "OPENAI_API_KEY": "sk-bench",
               "UPSTREAM_OPENAI_URL": f"http://127.0.0.1:{up_port}",
               "ADMIN_PASSWORD": "bench-admin-password"}
        if args.workers > 1:
            env["REDIS_URL"] = stack.enter_context(private_redis())
        good, keys = customers(env, args.root)
        wait_port(up_port)
        found = {}
        for caps in ((True, False) if args.caps == "both" else (args.caps == "on",)):
            found["caps on" if caps else "caps off"] = run_variant(
                bench, env, keys, good, caps, args.workers, args.seconds, args.client == "sdk",
                args.root)
    print(f"customer's median latency, ms ({args.client} client, {args.workers} worker(s); "
          f"flood: wrk, {FLOOD_CONNECTIONS} connections from another address)")
    for variant, results in found.items():
        quiet = results["quiet"]["p50_ms"]
        cells = []
        for name, r in results.items():
            ratio = f" ({r['p50_ms'] / quiet:.1f}x)" if name != "quiet" else ""
            extra = f", flood {r['flood_rps']:,} req/s" if "flood_rps" in r else ""
            cells.append(f"{name} {r['p50_ms']}{ratio}, failed {r['failed']}{extra}")
        print(f"{variant}: " + "; ".join(cells))
    if args.json:
        print(json.dumps(found))


if __name__ == "__main__":
    main()
