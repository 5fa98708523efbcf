"""handshake — a new TLS connection per request (ECDSA P-256, X25519, TLS 1.3).

wrk over https with `Connection: close` (64 connections, CPU 0): the proxy (CPU 1) answers
and closes, wrk reconnects, so every request costs one full handshake plus one small proxied
request to the keep-alive upstream (CPU 0). Same certificate and client settings as `tls`.

wrk on its own would *resume* nearly every reconnect (OpenSSL keeps the session across the
SSL_clear wrk reconnects with; h2load --h1 resumes too), so wrk runs with the harness's
no-resumption shim (harness.tls), and before measuring, `resumption_check` counts resumed
sessions with and without the shim on a throwaway nginx that logs `$ssl_session_reused`:
with the shim it must be 0, or the scenario is invalid.

Figure: handshakes per CPU-second of the proxy = requests / proxy CPU seconds.
Goal (spec/bench.md): Gatehouse ≥ 1.3 × nginx.
"""

import os

from harness import compare
from harness import tls as tlsmod
from harness.compare import fmt_ratio, fmt_us
from harness.lineup import Lineup
from harness.servers import Upstream
from scenarios import tls as tls_scenario

NAME = "handshake"
TITLE = "new TLS connection per request (ECDSA P-256, X25519)"

GOAL = 1.3  # Gatehouse handshakes per CPU-second ≥ 1.3 × nginx


def per_cpu_second(summary):
    cpu = summary.get("cpu_us_per_req") if summary else None
    return 1e6 / cpu if cpu else None


def table(case, order=("nginx", "haproxy", "gatehouse")):
    lines = ["| proxy | handshakes per CPU-second | CPU µs/handshake | (min–max) | "
             "handshakes/s | p50 | p99 | vs nginx | vs HAProxy | valid runs | "
             "proxy core busy | foreign load |",
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    summ = case["summary"]
    for name in order:
        s = summ.get(name)
        if s is None:
            continue
        hps = per_cpu_second(s)
        lo, hi = s["cpu_us_per_req_min"], s["cpu_us_per_req_max"]
        cells = [compare.LABELS.get(name, name),
                 "–" if hps is None else f"{hps:.0f}",
                 "–" if s["cpu_us_per_req"] is None else f"{s['cpu_us_per_req']:.1f}",
                 "–" if lo is None else f"{lo:.1f}–{hi:.1f}",
                 "–" if s["rps"] is None else f"{s['rps']:.0f}",
                 fmt_us(s["p50_us"]), fmt_us(s["p99_us"]),
                 fmt_ratio(s["handshake_ratios"].get("nginx")),
                 fmt_ratio(s["handshake_ratios"].get("haproxy")),
                 f"{s['valid_runs']}/{s['runs']}",
                 "–" if s["proxy_core_busy"] is None else f"{s['proxy_core_busy'] * 100:.0f}%",
                 "–" if s["foreign_load"] is None else f"{s['foreign_load'] * 100:.0f}%"]
        lines.append("| " + " | ".join(cells) + " |")
    for name, c in case["check"].items():
        if not c["ok"]:
            lines.append(f"\n{compare.LABELS.get(name, name)}: response check failed — "
                         f"{c['message']}")
    return "\n".join(lines)


def run(ctx):
    tls_dir = os.path.join(ctx.work, "tls")
    cert = tlsmod.make_edge_cert(tls_dir)
    env = tlsmod.client_env(tls_dir, resume=False)
    cases = [{"name": "close", "path": "/", "body": Upstream.BODIES["/small"],
              "title": "one request per TLS connection, small body (3 B)",
              "headers": {"Connection": "close"}, "keepalive": False, "wrk_env": env}]

    resumption = {
        "wrk alone": tlsmod.resumption_check(ctx, ctx.port(86), cert,
                                             tlsmod.client_env(tls_dir)),
        "wrk with the shim": tlsmod.resumption_check(ctx, ctx.port(86), cert, env),
    }
    for k, r in resumption.items():
        print(f"resumption check, {k}: {r['resumed']} of {r['handshakes']} connections "
              "resumed", flush=True)
    no_resumption = (resumption["wrk with the shim"]["resumed"] == 0
                     and resumption["wrk with the shim"]["handshakes"] > 0)

    with Lineup(ctx) as lineup:
        lineup.start(tls_scenario.proxies(cert))
        pinning = lineup.check_pinning()
        for p in pinning:
            print(f"warning: {p}", flush=True)
        if not lineup.proxies:
            raise RuntimeError("no proxy could be started")
        probes = {p.name: tlsmod.probe(p.port, env) for p in lineup.proxies}
        for name, r in probes.items():
            print(tlsmod.probe_text(name, r), flush=True)
        results = compare.interleave(ctx, NAME, lineup.proxies, cases)
        metrics = {p.name: p.metrics() for p in lineup.proxies if p.is_gatehouse}
        servers = lineup.describe()
        log_problems = lineup.log_problems()

    valid = (not lineup.failed and no_resumption
             and all(r["ok"] for r in probes.values()))
    md = [f"## {NAME} — {TITLE}", ""]
    md += [compare.md_bullet(m) for m in lineup.messages]
    md += [f"- warning: {p}" for p in pinning]
    md.append("- goal: Gatehouse handshakes per CPU-second (requests ÷ proxy CPU seconds) "
              "≥ 1.3 × nginx")
    md.append(f"- load: wrk over https with `Connection: close` ({ctx.connections} "
              "connections; the proxy closes after each response and wrk reconnects), with "
              "the harness's LD_PRELOAD shim so that no session is resumed; client offers "
              f"TLS 1.3, {tlsmod.CIPHERSUITE}, {tlsmod.GROUP} only; same ECDSA P-256 "
              "certificate for all")
    md.append("- resumption check (throwaway nginx logging `$ssl_session_reused`, 1 s of "
              "the same wrk): " + "; ".join(
                  f"{k}: {r['resumed']} of {r['handshakes']} connections resumed"
                  for k, r in resumption.items())
              + ("" if no_resumption else " — **sessions were resumed: results invalid**"))
    md += ["- negotiated (openssl s_client probe): "
           + "; ".join(tlsmod.probe_text(compare.LABELS.get(n, n), r)
                       for n, r in probes.items())]
    md.append("- every proxy issues TLS 1.3 session tickets after each handshake (its "
              "default); the client never uses them")
    counters = [f"`{k}` {v:.0f}" for m in metrics.values() for k, v in m.items()
                if v and ("handshake" in k or "error" in k)]
    if counters:
        md.append("- Gatehouse counters after the runs: " + "; ".join(counters))
    md.append("- " + "; ".join(s["version"] for n, s in servers.items() if n != "upstream"))
    for case, spec in zip(results, cases):
        compare.add_ratios(case)
        case["title"] = spec["title"]
        for s in case["summary"].values():
            hps = per_cpu_second(s)
            s["handshakes_per_cpu_second"] = hps
            s["handshake_ratios"] = {
                ref: compare.ratio(hps, per_cpu_second(case["summary"].get(ref)))
                for ref in ("nginx", "haproxy") if ref in case["summary"]}
        g = case["summary"].get("gatehouse")
        vs_nginx = g["handshake_ratios"].get("nginx") if g else None
        case["goals"] = {"handshakes_vs_nginx_ge_1.3": None if vs_nginx is None
                         else vs_nginx >= GOAL}
        valid = valid and compare.case_valid(case)
        md += ["", f"### {spec['title']}", "", table(case)]
        if g:
            md += ["", "Gatehouse goal: handshakes per CPU-second ≥ 1.3× nginx "
                   + compare.verdict(case["goals"]["handshakes_vs_nginx_ge_1.3"])]
        md += compare.md_invalid_runs(case)
    problems = compare.md_log_problems(log_problems)
    if problems:
        md += [""] + problems
    return {"name": NAME, "title": TITLE, "valid": valid, "markdown": "\n".join(md),
            "messages": lineup.messages, "pinning_warnings": pinning, "servers": servers,
            "client": "wrk -H 'Connection: close' with the no-resumption shim",
            "resumption_check": resumption, "tls_probes": probes,
            "gatehouse_metrics": metrics,
            "log_problems": log_problems, "cases": results}
