"""python -m bench [--quick] [--rounds N] [--duration S] [--streams 500,2000] [--soak S]

Starts a fast fake upstream, mitmproxy's stock lean master ("stock"), the gateway's lean runtime
with nothing in it ("bare", the ceiling of this design) and the gateway (keys, limits set high
enough never to refuse, metering, access log), then measures them side by side on this machine,
alternating the order of the variants round by round and reporting medians:
  - plain requests with wrk: throughput and latency p50/p99 at concurrency 1, 16 and 64;
  - streams, one at a time: time to first byte and the delay each event picked up;
  - many slow streams at once (one event a second): failures, event delay p99, memory each;
  - what each part of the gateway costs: the gateway built up member by member (routing; then
    keys, limits and credentials; then metering; then the access log), each step run A/B
    against the bare proxy at concurrency 16 (bench/partial.py);
  - with --soak S: mixed traffic for S seconds, sampling the gateway's memory;
  - last, the chain's own cost per request in one process (bench/chain.py), and what selling
    adds to it: raw tokens against weighted tokens with credit, and pay as you go, in memory and
    with Redis.
Writes bench/results/results.json and results.md (the README shows the table).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import re
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from .clients import many_streams, one_stream, percentile, request_bytes

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PY = sys.executable
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": 16}
# The gateway built up step by step, each step adding chain members to the one before.
ABLATION = [
    ("routing", ("Router",)),
    ("+ keys, limits, upstream keys", ("Auth", "Ownership", "Limits", "Send", "Upstreams")),
    ("+ metering, error responses, timeouts", ("Metering", "ErrorResponses", "Timeouts")),
    ("+ access log, metrics, admin app, connections (the gateway)",
     ("AccessLog", "Metrics", "AdminApp", "Connections")),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


# The operator's commands run in one process: each `python -m admin` starts the app anew.
ADMIN_BATCH = """
import json, sys
from admin import create_app
runner = create_app().test_cli_runner()
out = []
for args in json.loads(sys.argv[1]):
    result = runner.invoke(args=args)
    if result.exit_code:
        sys.exit(f"{args}: {result.output}")
    out.append(result.output.strip())
print(json.dumps(out))
"""


def admin_batch(env: dict[str, str], *commands: list[str], root=ROOT,
                init: bool = True) -> list[str]:
    """Run the operator's commands (with `init`, the database made first by `init-db`, by
    the code in `root`); returns what each printed."""
    if init:
        subprocess.run([PY, "-m", "admin", "init-db"], cwd=root, env=env, check=True,
                       capture_output=True)
    done = subprocess.run([PY, "-c", ADMIN_BATCH, json.dumps(commands)], cwd=root, env=env,
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def provision(env: dict[str, str]) -> str:
    """A fresh database with a customer on a plan that never refuses; returns their key."""
    return admin_batch(
        env, ["create-plan", "Bench", "--rpm", "100000000", "--monthly-tokens", "unlimited"],
        ["create-user", "bench@example.com", "--plan", "Bench"],
        ["create-key", "bench@example.com"])[-1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Target:
    def __init__(self, name: str, port: int, path: str, headers: dict[str, str]) -> None:
        self.name, self.port, self.path, self.headers = name, port, path, headers
        self.proc: subprocess.Popen | None = None
        self.start_fn = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def restart(self) -> None:
        if self.start_fn:
            self.stop()
            self.proc = self.start_fn()
            wait_port(self.port)
            asyncio.run(one_stream(self.port, self.payload(2, 0), 10))  # warm up

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def payload(self, events: int, interval_ms: int) -> bytes:
        return request_bytes(self.path, {**self.headers, "x-bench-events": str(events),
                                         "x-bench-interval-ms": str(interval_ms)},
                             {**BODY, "stream": True})


def wrk_script(tmp: Path, t: Target, pause_ms: float = 0) -> Path:
    """The Lua script wrk runs against a target: the chat request, the target's headers, and
    with `pause_ms` each connection's pause between requests."""
    script = tmp / f"{t.name}.lua"
    headers = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in t.headers.items())
    pause = f"function delay() return {pause_ms:.3f} end\n" if pause_ms else ""
    script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(BODY))}\n'
                      f'wrk.headers["Content-Type"] = "application/json"\n{headers}{pause}')
    return script


def wrk_counts(out: str) -> tuple[float, int]:
    """Requests per second and answers that were not a success, from wrk's report."""
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return (float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            int(errors.group(1)) if errors else 0)


class Bench:
    def __init__(self, args) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="llm-gateway-bench-"))
        self.procs: list[subprocess.Popen] = []
        self.results: dict = {"runs": []}

    # --- processes ---

    def spawn(self, *argv, env=None, log="proc") -> subprocess.Popen:
        out = open(self.tmp / f"{log}.log", "ab")
        p = subprocess.Popen([PY, *argv], cwd=ROOT, env=env or os.environ.copy(), stdout=out,
                             stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def setup(self) -> list[Target]:
        up_port, stock_port, bare_port, gw_port = (free_port() for _ in range(4))
        upstream_url = f"http://127.0.0.1:{up_port}"
        self.upstream = self.spawn("-m", "bench.upstream", "--port", str(up_port), log="upstream")
        wait_port(up_port)
        env = {**os.environ, "DATA_DIR": str(self.tmp / "data"),
               "UPSTREAM_OPENAI_URL": upstream_url, "OPENAI_API_KEY": "sk-bench",
               "ACCESS_LOG": str(self.tmp / "access.log"), "ADMIN_PASSWORD": "bench-admin-password",
               # An ablation step without metering never takes its calls out of the in-flight
               # registry: its graceful stop would wait the whole grace for them.
               "SHUTDOWN_GRACE": "1",
               # The fake upstream's knobs travel as headers; the gateway forwards only those
               # an API needs, and these.
               "FORWARD_HEADERS": "x-bench-events,x-bench-interval-ms"}
        key = provision(env)
        self.env, self.key = env, key

        direct = Target("direct", up_port, "/v1/chat/completions", {})
        stock = Target("stock", stock_port, "/v1/chat/completions", {})
        stock.start_fn = lambda: self.spawn("-m", "bench.bare", "--stock", "--port",
                                            str(stock_port), "--upstream", upstream_url,
                                            log="stock")
        bare = Target("bare", bare_port, "/v1/chat/completions", {})
        # The lean runtime runs optimized, as start.sh runs the gateway (-O); stock does not.
        bare.start_fn = lambda: self.spawn("-O", "-m", "bench.bare", "--port", str(bare_port),
                                           "--upstream", upstream_url, log="bare")
        gateway = Target("gateway", gw_port, "/v1/openai/chat/completions",
                         {"Authorization": f"Bearer {key}"})
        gateway.start_fn = lambda: self.spawn("-O", "-m", "addons", "--port", str(gw_port),
                                              env=env, log="gateway")
        for t in (stock, bare, gateway):
            t.restart()
        direct.proc = self.upstream
        return [direct, stock, bare, gateway]

    def teardown(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()

    # --- measurements ---

    def wrk(self, t: Target, conc: int, duration: int) -> dict:
        script = wrk_script(self.tmp, t)
        cpu0 = cpu_seconds(t.proc.pid)
        out = subprocess.run(["wrk", "-t1", f"-c{conc}", f"-d{duration}s", "--latency",
                              "-s", str(script), t.url], capture_output=True, text=True,
                             check=True).stdout
        cpu = (cpu_seconds(t.proc.pid) - cpu0) / duration
        lat = {p: to_ms(v, u)
               for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)}
        rps, non2xx = wrk_counts(out)
        return {"rps": rps, "p50_ms": lat.get("50"), "p99_ms": lat.get("99"),
                "non2xx": non2xx, "cpu": round(cpu, 3),
                "cpu_us_per_request": round(cpu * 1e6 / rps) if rps else None,
                "rss_mib": round(rss_kib(t.proc.pid) / 1024, 1)}

    def stream_latency(self, t: Target, n: int, events: int, interval_ms: int) -> dict:
        async def run():
            return [await one_stream(t.port, t.payload(events, interval_ms), 30)
                    for _ in range(n)]
        results = asyncio.run(run())
        delays = [d * 1000 for r in results for d in r.delays]
        ttfb = [r.ttfb * 1000 for r in results if r.ttfb is not None]
        return {"ok": sum(r.ok for r in results), "n": n,
                "ttfb_p50_ms": percentile(ttfb, 50), "ttfb_p99_ms": percentile(ttfb, 99),
                "delay_p50_ms": percentile(delays, 50), "delay_p99_ms": percentile(delays, 99)}

    def slow_streams(self, t: Target, n: int, events: int) -> dict:
        t.restart()  # a fresh process, so memory per stream is not hidden by earlier runs
        time.sleep(1)
        base = rss_kib(t.proc.pid)
        ramp = 500.0
        samples: list[int] = []

        async def run():
            task = asyncio.create_task(many_streams(t.port, t.payload(events, 1000), n, ramp,
                                                    events + 30))
            await asyncio.sleep(n / ramp + 3)  # all open, some events flowing
            for _ in range(3):
                samples.append(rss_kib(t.proc.pid))
                await asyncio.sleep(1)
            return await task

        start = time.time()
        gc.collect()
        gc.disable()  # a collection in this client would show up as event delay in the proxy
        try:
            results = asyncio.run(run())
        finally:
            gc.enable()
        steady_from = start + n / ramp + 2
        delays = [d * 1000 for r in results for a, d in zip(r.arrivals, r.delays)
                  if a >= steady_from]
        failed = [r.error for r in results if not r.ok]
        steady = statistics.median(samples)
        return {"n": n, "failed": len(failed), "errors": sorted(set(failed))[:5],
                "delay_p50_ms": percentile(delays, 50), "delay_p99_ms": percentile(delays, 99),
                "rss_base_mib": round(base / 1024, 1), "rss_steady_mib": round(steady / 1024, 1),
                "kib_per_stream": round((steady - base) / n, 1)}

    def ablation(self, bare: Target, rounds: int, duration: int) -> list[dict]:
        """Each step of ABLATION against the bare proxy at concurrency 16, alternated."""
        steps, members = [], []
        for i, (label, more) in enumerate(ABLATION):
            members += more
            port, only = free_port(), ",".join(members)
            part = Target(f"step{i + 1}", port, "/v1/openai/chat/completions",
                          {"Authorization": f"Bearer {self.key}"})
            part.start_fn = lambda port=port, only=only: self.spawn(
                "-O", "-m", "bench.partial", "--port", str(port), "--only", only, env=self.env,
                log="partial")
            part.restart()
            self.wrk(part, 16, max(1, duration // 2))  # warm, as the main run's gateway is
            runs: dict[str, list[dict]] = {"bare": [], "part": []}
            for r in range(rounds):
                for name, t in ([("bare", bare), ("part", part)] if r % 2 == 0
                                else [("part", part), ("bare", bare)]):
                    runs[name].append(self.wrk(t, 16, duration))
            part.stop()
            med = {name: {f: statistics.median(w[f] for w in ws)
                          for f in ("rps", "cpu_us_per_request")} for name, ws in runs.items()}
            step = {"step": label, "members": list(members), "rps": med["part"]["rps"],
                    "bare_rps": med["bare"]["rps"],
                    "non2xx": sum(w["non2xx"] for w in runs["part"]),
                    "added_us": med["part"]["cpu_us_per_request"]
                    - med["bare"]["cpu_us_per_request"]}
            step["ratio"] = round(step["rps"] / step["bare_rps"], 3) if step["bare_rps"] else None
            steps.append(step)
            print(f"ablation: {step}", flush=True)
        return steps

    def usage_rows(self) -> int:
        """Usage records the gateway has written so far (its SQLite file)."""
        path = next((self.tmp / "data").rglob("*.db"))
        with closing(sqlite3.connect(path)) as c:
            return c.execute("SELECT count(*) FROM usagerecord").fetchone()[0]

    def soak(self, t: Target, seconds: int) -> dict:
        """Mixed traffic: wrk plain requests and waves of streams; memory sampled throughout,
        and the usage records written checked against the calls made."""
        samples = []
        script = self.tmp / f"{t.name}.lua"
        rows0, streams = self.usage_rows(), 0
        start = time.monotonic()
        wrk = subprocess.Popen(["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", str(script), t.url],
                               stdout=subprocess.PIPE, text=True)
        while time.monotonic() - start < seconds:
            streams += len(asyncio.run(many_streams(t.port, t.payload(10, 50), 50, 0, 30)))
            samples.append((round(time.monotonic() - start), rss_kib(t.proc.pid) // 1024))
            time.sleep(max(0, 10 - (time.monotonic() - start) % 10))
        out = wrk.communicate()[0]
        at_stop = self.usage_rows() - rows0
        time.sleep(3)  # a few flush intervals
        written = self.usage_rows() - rows0
        total = re.search(r"(\d+) requests in", out)
        calls = int(total.group(1)) + streams if total else None
        third = max(1, len(samples) // 3)
        first = statistics.median(s for _, s in samples[:third])
        last = statistics.median(s for _, s in samples[-third:])
        return {"seconds": seconds, "requests": int(total.group(1)) if total else None,
                "streams": streams, "rss_mib_samples": samples, "rss_first_third_mib": first,
                "rss_last_third_mib": last, "growth_mib": last - first,
                # wrk leaves the requests in flight when it stops (up to 8) uncounted.
                "calls_counted": calls, "usage_rows_at_stop": at_stop,
                "usage_rows_written": written}

    # --- the run ---

    def run(self) -> dict:
        a = self.args
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        try:  # a failed start must not leave the upstream or the bare proxy running
            targets = self.setup()
            for r in range(a.rounds):
                order = targets if r % 2 == 0 else targets[::-1]
                run = {"round": r, "order": [t.name for t in order], "plain": {}, "stream": {},
                       "slow": {}}
                for conc in (1, 16, 64):
                    for t in order:
                        run["plain"].setdefault(str(conc), {})[t.name] = self.wrk(t, conc,
                                                                                   a.duration)
                        print(f"round {r} plain c{conc} {t.name}: "
                              f"{run['plain'][str(conc)][t.name]}", flush=True)
                for t in order:
                    run["stream"][t.name] = self.stream_latency(t, a.latency_streams, 20, 10)
                    print(f"round {r} stream {t.name}: {run['stream'][t.name]}", flush=True)
                for n in a.streams:
                    for t in [x for x in order if x.name != "direct"]:
                        run["slow"].setdefault(str(n), {})[t.name] = self.slow_streams(
                            t, n, a.slow_events)
                        print(f"round {r} slow {n} {t.name}: {run['slow'][str(n)][t.name]}",
                              flush=True)
                self.results["runs"].append(run)
            self.results["ablation"] = self.ablation(targets[2], a.rounds, a.duration)
            if a.soak:
                self.results["soak"] = self.soak(targets[-1], a.soak)
                print(f"soak: {self.results['soak']}", flush=True)
        finally:
            self.teardown()
        from .chain import measure, selling_both, unified_run

        self.results["chain"] = measure(500 if a.quick else 20000)
        print(f"chain: {self.results['chain']}", flush=True)
        self.results["selling"] = selling_both(500 if a.quick else 20000)
        print(f"selling: {self.results['selling']}", flush=True)
        self.results["unified"] = unified_run(500 if a.quick else 20000)
        print(f"unified: {self.results['unified']}", flush=True)
        self.results["medians"] = medians(self.results["runs"])
        self.results["machine"] = machine()
        self.results["args"] = vars(a)
        return self.results


def to_ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def medians(runs: list[dict]) -> dict:
    """The median over rounds of every figure, by section / key / variant / field."""
    out: dict = {}
    for section in ("plain", "stream", "slow"):
        for run in runs:
            for key, by_target in (run[section].items() if section != "stream"
                                   else [("all", run[section])]):
                for target, figures in by_target.items():
                    for field, value in figures.items():
                        if isinstance(value, (int, float)) and value is not None:
                            (out.setdefault(section, {}).setdefault(key, {})
                             .setdefault(target, {}).setdefault(field, []).append(value))
    return {s: {k: {t: {f: round(statistics.median(v), 3) for f, v in fields.items()}
                    for t, fields in by_t.items()} for k, by_t in keys.items()}
            for s, keys in out.items()}


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    import mitmproxy.version

    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "mitmproxy": mitmproxy.version.VERSION, "date": time.strftime("%Y-%m-%d")}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--streams", default="500,2000", help="concurrent slow stream counts")
    parser.add_argument("--slow-events", type=int, default=15)
    parser.add_argument("--latency-streams", type=int, default=20)
    parser.add_argument("--soak", type=int, default=0, help="seconds of mixed traffic")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:  # small settings, for those the command line left at their defaults
        quick = {"rounds": 1, "duration": 2, "slow_events": 6, "latency_streams": 5,
                 "streams": "100"}
        for name, value in quick.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, value)
    args.streams = [int(x) for x in str(args.streams).split(",") if x]
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    results = Bench(args).run()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    from .report import markdown

    md = markdown(results)
    (args.out / "results.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
