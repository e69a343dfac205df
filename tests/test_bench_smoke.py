"""The benchmark runs end to end (tiny settings): it must not rot between full runs.
Figures are not asserted here: timing belongs to the benchmark's report, not to tests."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import ROOT


def test_bench_quick_run(tmp_path):
    out = subprocess.run([sys.executable, "-m", "bench", "--quick", "--duration", "1",
                          "--streams", "50", "--out", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    m = results["medians"]
    for conc in ("1", "16", "64"):
        assert {"direct", "stock", "bare", "gateway"} <= set(m["plain"][conc])
        for variant in ("stock", "bare", "gateway"):  # every proxy passed every request
            assert m["plain"][conc][variant]["non2xx"] == 0
    assert all(m["stream"]["all"][v]["ok"] == 5 for v in ("stock", "bare", "gateway"))
    assert all(m["slow"]["50"][v]["failed"] == 0 for v in ("stock", "bare", "gateway"))
    # The chain's own cost was measured through every member, on real requests.
    assert results["chain"]["chain_us"] > 0
    assert {"Router.requestheaders", "Auth.requestheaders", "Limits.request",
            "Metering.response", "Upstreams.request"} <= set(results["chain"]["members_us"])
    # The ablation built the gateway up in four steps, every request passed by each.
    steps = results["ablation"]
    assert [len(st["members"]) for st in steps] == [1, 6, 9, 13]
    assert all(st["non2xx"] == 0 and st["rps"] > 0 for st in steps)
    # What selling adds: the three customers' calls all answered, in memory and with Redis.
    assert [r["redis"] for r in results["selling"]] == [False, True]
    assert all({"raw", "weighted", "payg"} == set(r["chain_us"]) for r in results["selling"])
    # What the unified API adds: both routes' calls answered, and the streams parsed.
    uni = results["unified"]
    assert set(uni["chain_us"]) == {"native", "unified"}
    assert all(v > 0 for v in uni["stream_event_us"].values())
    md = (tmp_path / "results.md").read_text()
    assert "What each part costs" in md and "**Selling** (with Redis" in md
    assert "**Unified API**" in md
    assert "gateway/bare" in md and "gateway/stock" in md and "python -m bench.chain" in md


def test_bench_shared_quick_run():
    """The scale-out benchmark: one process against two workers, and the shared limits' cost
    side by side, every request answered 200 (Redis limits that refused would look cheap)."""
    out = subprocess.run([sys.executable, "-m", "bench.shared", "--rounds", "1", "--duration",
                          "1", "--pairs", "2"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    report = json.loads(out.stdout[out.stdout.index("\n{") + 1:out.stdout.rindex("}") + 1])
    assert set(report["scaling"]) == {"redis", "redis, 2 workers"}
    for pace in ("paced", "flat out"):
        cost = report["cost"][pace]
        assert len(cost["difference"]["pairs"]) == 2
        assert all(cost[t]["non2xx"] == 0 and cost[t]["rps"] > 0 for t in ("memory", "redis"))
    assert all(t["non2xx"] == 0 for t in report["scaling"].values())
    assert "shared limits, paced:" in out.stdout and "2 workers:" in out.stdout


def test_bench_pages_quick_run():
    """The page-speed benchmark: a small seeded history, every page answered 200 and timed."""
    out = subprocess.run([sys.executable, "-m", "bench.pages", "--calls-per-month", "300",
                          "--months", "3", "--runs", "1"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "seeded 900 records" in out.stdout and "slowest page median" in out.stdout
    assert "/ops/overview?range=90d" in out.stdout and "/usage?key=" in out.stdout
