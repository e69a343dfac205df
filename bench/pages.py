"""python -m bench.pages [--calls-per-month N] [--months N] [--runs N] [--database-url URL]:
how fast the web UI's pages answer for a customer with a year of heavy usage.

Seeds one customer (Growth plan, three keys, five models) with `--months` of usage records at
`--calls-per-month` (default: a year of 100,000 a month, 1.2 million records), made as the
usage writer makes them, and their hourly and daily sums as migration 15 builds them; starts the
gateway on that database (SQLite in a temporary folder by default); then fetches each of the
customer's and the operator's pages `--runs` times, signed in, over loopback. Prints each
page's median and 95th percentile in milliseconds (what a browser waits for the HTML), and the
slowest median against the 300 ms target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from .__main__ import free_port, wait_port

ROOT = Path(__file__).resolve().parent.parent
EMAIL, PASSWORD = "heavy@bench.example", "bench-password-123"
ADMIN_PASSWORD = "bench-admin-password"
MODELS = [("openai", "chat.completions", "gpt-4o-mini"), ("openai", "responses", "gpt-4.1"),
          ("anthropic", "messages", "claude-sonnet-4-6"),
          ("anthropic", "messages", "claude-haiku-4-5"),
          ("gemini", "generateContent", "gemini-2.5-flash")]
FINISH = {"openai": "stop", "anthropic": "end_turn", "gemini": "STOP"}
FULL = ""  # last month: a whole month of calls


def seed(months: int, per_month: int) -> dict:
    """The customer, keys and records, written in the bench's own process."""
    from addons.services.usage_writer import insert_rows
    from models import ApiKey, Plan, User, db, utcnow
    from models.base import write_transaction
    from models.rollup import backfill

    user = User.get_or_none(User.email == EMAIL)
    if user is None:
        from admin import accounts

        user, _ = accounts.create_user(EMAIL, Plan.get(Plan.name == "Growth"),
                                       password=PASSWORD)
    keys = [ApiKey.issue(user, name)[1] for name in ("production", "ci job", "laptop")]
    rng = random.Random(7)
    now = utcnow()
    start = now - dt.timedelta(days=30.44 * months)
    total = months * per_month
    step = (now - start) / total
    t0 = time.monotonic()
    batch: list[dict] = []
    for i in range(total):
        provider, endpoint, model = MODELS[rng.randrange(len(MODELS))]
        inp, out = rng.randrange(50, 4000), rng.randrange(10, 800)
        status = 200 if rng.random() > 0.01 else 529
        batch.append({
            "created_at": start + step * i, "request_id": f"req_bench_{i}", "user": user.id,
            "api_key": keys[rng.randrange(3)].id, "provider": provider, "endpoint": endpoint,
            "model": model, "status": status, "streamed": i % 2 == 0,
            "latency_ms": rng.randrange(200, 4000), "ttfb_ms": rng.randrange(100, 900),
            "input_tokens": inp, "output_tokens": out, "total_tokens": inp + out,
            "counted_tokens": inp + out, "cost_nanousd": inp * 150 + out * 600,
            "charge_nanousd": inp * 190 + out * 750, "finish_reason": FINISH[provider],
            "tool_calls": "", "priced": True, "complete": True, "estimated": False})
        if len(batch) == 20_000 or i == total - 1:
            with write_transaction():
                insert_rows(batch)
            batch = []
    seeded = time.monotonic() - t0
    t0 = time.monotonic()
    with write_transaction():
        backfill()
    summed = time.monotonic() - t0
    db.close()
    return {"records": total, "seed_s": round(seeded, 1), "sums_s": round(summed, 1),
            "key_id": keys[0].id, "user_id": user.id}


def signed_in(base: str, email: str, password: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=60)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)[1]
    r = c.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert r.status_code == 302, r.text[:300]
    return c


def timed(c: httpx.Client, path: str, runs: int) -> list[float]:
    c.get(path).raise_for_status()  # warm: templates compiled, connection open
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = c.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls-per-month", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    env = {**os.environ, "DATA_DIR": str(tmp), "ADMIN_PASSWORD": ADMIN_PASSWORD,
           "DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'gateway.db'}",
           "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "admin", "init-db"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    from models import bind

    bind(env["DATABASE_URL"])
    s = seed(args.months, args.calls_per_month)
    global FULL
    FULL = f"{dt.date.today().replace(day=1) - dt.timedelta(days=1):%Y-%m}"  # a whole month
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-O", "-m", "addons", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        base = f"http://127.0.0.1:{port}"
        customer = signed_in(base, EMAIL, PASSWORD)
        operator = signed_in(base, "admin@llm-gateway.io", ADMIN_PASSWORD)
        pages = [(customer, p) for p in (
            "/", "/keys", f"/keys/{s['key_id']}", "/usage", f"/usage?key={s['key_id']}",
            "/usage?model=claude-sonnet-4-6", "/usage?status=error", "/usage?page=40",
            f"/usage?month={FULL}", f"/usage?month={FULL}&status=error",
            f"/usage?month={FULL}&page=1000",
            "/pricing", "/credit", "/account")]
        pages += [(operator, p) for p in (
            "/ops/overview", "/ops/overview?range=30d", "/ops/overview?range=90d",
            "/ops/customers", f"/ops/customers/{s['user_id']}", "/ops/usage", "/ops/keys")]
        size = (tmp / "gateway.db").stat().st_size if not args.database_url else None
        print(f"seeded {s['records']:,} records in {s['seed_s']} s, their sums in "
              f"{s['sums_s']} s" + (f"; database {size / 2**20:,.0f} MiB" if size else ""))
        print(f"{'page':45} {'median ms':>10} {'p95 ms':>8}")
        worst = 0.0
        for client, path in pages:
            times = sorted(timed(client, path, args.runs))
            median = statistics.median(times)
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            worst = max(worst, median)
            print(f"{path:45} {median:10.1f} {p95:8.1f}")
        print(f"slowest page median: {worst:.1f} ms (target: under 300 ms)")
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    main()
