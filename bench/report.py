"""The benchmark's Markdown table, with the issue's targets checked."""

from __future__ import annotations

# direct to the upstream; mitmproxy's stock lean master; the gateway's runtime with nothing in
# it (the ceiling of this design); the gateway.
VARIANTS = ("direct", "stock", "bare", "gateway")


def fmt(v, unit="") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        v = f"{v:,.0f}" if abs(v) >= 100 or v.is_integer() else f"{v:,.2f}"
    return f"{v}{unit}"


def ratio(a, b) -> str:
    return f"{a / b:.2f}" if a and b else "–"


def markdown(results: dict) -> str:
    m = results["medians"]
    mach = results["machine"]
    a = results["args"]
    lines = [
        f"Machine: {mach['cpus']} cores, {mach['cpu']}; Python {mach['python']}, "
        f"mitmproxy {mach['mitmproxy']}; {mach['date']}. Medians of {a['rounds']} alternated "
        f"round(s); wrk runs of {a['duration']} s.",
        "",
        "**Plain requests** (wrk, POST chat completion, keep-alive)",
        "",
        "| concurrency | req/s direct / stock / bare / gateway | gateway/bare | gateway/stock | "
        "p50 ms direct / stock / bare / gateway | p99 ms direct / stock / bare / gateway |",
        "|---|---|---|---|---|---|",
    ]
    for c, t in m.get("plain", {}).items():
        d, k, b, g = (t.get(v, {}) for v in VARIANTS)

        def each(field, runs=(d, k, b, g)):
            return " / ".join(fmt(x.get(field)) for x in runs)
        lines.append(f"| {c} | {each('rps')} | {ratio(g.get('rps'), b.get('rps'))} | "
                     f"{ratio(g.get('rps'), k.get('rps'))} | {each('p50_ms')} | {each('p99_ms')} |")
    s = m.get("stream", {}).get("all", {})
    lines += ["", "**One stream at a time** (20 events, 10 ms apart)", "",
              "| | direct | stock | bare | gateway |", "|---|---|---|---|---|"]
    for field, label in (("ttfb_p50_ms", "time to first byte p50 ms"),
                         ("ttfb_p99_ms", "time to first byte p99 ms"),
                         ("delay_p50_ms", "event delay p50 ms"),
                         ("delay_p99_ms", "event delay p99 ms")):
        lines.append(f"| {label} | " + " | ".join(fmt(s.get(t, {}).get(field))
                                                  for t in VARIANTS) + " |")
    lines += ["", "**Concurrent slow streams** (one event a second)", "",
              "| streams | variant | failed | event delay p50 / p99 ms | RSS base → steady MiB | "
              "KiB per stream |", "|---|---|---|---|---|---|"]
    for n, by_t in m.get("slow", {}).items():
        for t in VARIANTS[1:]:
            x = by_t.get(t, {})
            lines.append(f"| {n} | {t} | {fmt(x.get('failed'))} | {fmt(x.get('delay_p50_ms'))} / "
                         f"{fmt(x.get('delay_p99_ms'))} | {fmt(x.get('rss_base_mib'))} → "
                         f"{fmt(x.get('rss_steady_mib'))} | {fmt(x.get('kib_per_stream'))} |")
    c16 = m.get("plain", {}).get("16", {})
    if chain := results.get("chain"):
        k, b, g = (c16.get(t, {}).get("cpu_us_per_request") for t in VARIANTS[1:])
        parts = ", ".join(f"{name} {us}" for name, us in list(chain["members_us"].items())[:6])
        added = f"{g - b:.0f}" if b and g else "–"
        lines += ["", f"**Where the time goes**: the proxy's CPU per request at concurrency 16 "
                      f"is {fmt(k)} µs stock, {fmt(b)} µs bare and {fmt(g)} µs for the gateway "
                      f"(+{added} µs over bare). "
                      f"The gateway's hooks alone, in one process (`python -m bench.chain`), take "
                      f"{chain['chain_us']} µs per request; the largest: {parts} µs."]
    for sold in results.get("selling", []):
        where = "with Redis" if sold["redis"] else "in memory"
        us, over = sold["cpu_us"], sold["cpu_over_raw_us"]
        lines += ["", f"**Selling** ({where}, `python -m bench.chain --selling`, runs "
                      f"alternated): the process's CPU per request (flows built, hooks, the "
                      f"usage writer) is {us['raw']} µs for an allowance in raw tokens, "
                      f"{us['weighted']} in weighted tokens with credit on "
                      f"({over['weighted']:+} µs) and {us['payg']} paid from credit "
                      f"({over['payg']:+} µs)."]
    if uni := results.get("unified"):
        us, over, ev = uni["cpu_us"], uni["cpu_over_raw_us"], uni["stream_event_us"]
        lines += ["", f"**Unified API** (`python -m bench.chain --unified`, runs alternated): "
                      f"the process's CPU per request for a Claude call is {us['native']} µs "
                      f"on its native route and {us['unified']} µs as a chat completion "
                      f"translated ({over['unified']:+} µs); per streamed event, the native "
                      f"parser takes {ev['native']} µs and the translating one {ev['unified']} "
                      f"µs ({ev['unified'] - ev['native']:+.2f} µs)."]
    if steps := results.get("ablation"):
        lines += ["", "**What each part costs** (the gateway built up step by step, each step "
                      "run A/B against the bare proxy at concurrency 16, `bench/partial.py`)", "",
                  "| step | req/s step / bare | step/bare | CPU µs per request over bare |",
                  "|---|---|---|---|"]
        for st in steps:
            lines.append(f"| {st['step']} | {fmt(st['rps'])} / {fmt(st['bare_rps'])} | "
                         f"{ratio(st['rps'], st['bare_rps'])} | +{st['added_us']:.0f} |")
    lines += ["", "**Targets**", ""] + [f"- {t}" for t in targets(m, results.get("soak"))]
    if soak := results.get("soak"):
        lines += ["", f"**Soak**: {soak['seconds']} s of mixed traffic "
                      f"({soak['requests']} plain requests plus {soak.get('streams', '–')} "
                      f"streams in waves): gateway RSS {soak['rss_first_third_mib']} MiB in the "
                      f"first third, {soak['rss_last_third_mib']} MiB in the last (growth "
                      f"{soak['growth_mib']} MiB)."]
        if "usage_rows_written" in soak:
            lines[-1] += (f" Usage records: {soak['usage_rows_written']} written for the "
                          f"{soak['calls_counted']} calls the clients counted (wrk does not "
                          f"count the few in flight when it stops), "
                          f"{soak['usage_rows_at_stop']} of them by the moment the load "
                          f"stopped.")
    return "\n".join(lines) + "\n"


def targets(m: dict, soak: dict | None = None) -> list[str]:
    out = []
    p16 = m.get("plain", {}).get("16", {})
    if p16:
        r = (p16["gateway"]["rps"] / p16["bare"]["rps"]) if p16["bare"]["rps"] else 0
        line = f"throughput at c16 ≥ 90% of bare: {r:.0%} {'met' if r >= 0.9 else 'missed'}"
        if p16.get("stock", {}).get("rps"):
            line += (f" (and {p16['gateway']['rps'] / p16['stock']['rps']:.0%} of mitmproxy's "
                     f"stock lean master with nothing in it)")
        out.append(line)
    p1 = m.get("plain", {}).get("1", {})
    if p1:
        d = p1["gateway"]["p50_ms"] - p1["bare"]["p50_ms"]
        out.append(f"added p50 at c1 within 0.5 ms of bare: +{d:.2f} ms "
                   f"{'met' if d <= 0.5 else 'missed'}")
    s = m.get("slow", {}).get("2000", {}).get("gateway")
    if s:
        ok = s["failed"] == 0 and s["delay_p99_ms"] < 25 and s["kib_per_stream"] < 32
        out.append(f"2,000 streams: {s['failed']:.0f} failed, p99 {s['delay_p99_ms']:.1f} ms, "
                   f"{s['kib_per_stream']:.1f} KiB each: {'met' if ok else 'missed'}")
    if soak:  # flat: the last third within 5% of the first
        first, last = soak["rss_first_third_mib"], soak["rss_last_third_mib"]
        out.append(f"memory flat over a {soak['seconds']} s soak: {first} → {last} MiB: "
                   f"{'met' if last <= first * 1.05 else 'missed'}")
    return out
