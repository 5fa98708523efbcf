"""tls — HTTPS termination at the edge, keep-alive, small body.

wrk over https (64 keep-alive connections, CPU 0) -> proxy terminating TLS (CPU 1) -> plain
upstream nginx (CPU 0). Every proxy serves the same ECDSA P-256 certificate (made with the
openssl CLI in the work directory), TLS 1.3 only; the client offers only
TLS_AES_128_GCM_SHA256 and X25519 (harness.tls), and a probe handshake with openssl s_client
confirms what each proxy negotiates. nginx, HAProxy and Gatehouse are measured interleaved.

Goal (spec/bench.md): Gatehouse CPU/request ≤ 0.8 × nginx.
"""

import os

from harness import compare
from harness import servers as srv
from harness import tls as tlsmod
from harness.lineup import Lineup
from harness.servers import Upstream

NAME = "tls"
TITLE = "HTTPS termination at the edge, keep-alive"

CPU_GOAL = 0.8  # Gatehouse CPU/request ≤ 0.8 × nginx


def proxies(cert):
    def make(ctx, up_port):
        cpu = ctx.proxy_cpu
        return [
            srv.NginxProxy(ctx, ctx.port(81), cpu, up_port, tls=cert),
            srv.HAProxy(ctx, ctx.port(82), cpu, up_port, tls=cert),
            srv.Gatehouse(ctx, ctx.port(80), cpu, up_port, ctx.port(90), ctx.gatehouse,
                          tls=cert),
        ]
    return make


def run(ctx):
    tls_dir = os.path.join(ctx.work, "tls")
    cert = tlsmod.make_edge_cert(tls_dir)
    env = tlsmod.client_env(tls_dir)
    cases = [{"name": "small", "path": "/", "body": Upstream.BODIES["/small"],
              "title": "small body (3 B), HTTPS keep-alive", "wrk_env": env}]

    with Lineup(ctx) as lineup:
        lineup.start(proxies(cert))
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

    valid = not lineup.failed and all(r["ok"] for r in probes.values())
    md = [f"## {NAME} — {TITLE}", ""]
    md += [compare.md_bullet(m) for m in lineup.messages]
    md += [f"- warning: {p}" for p in pinning]
    md.append("- goal: Gatehouse CPU/request ≤ 0.8 × nginx (HAProxy for comparison)")
    md.append(f"- load: wrk over https, {ctx.connections} keep-alive connections; client "
              f"offers TLS 1.3, {tlsmod.CIPHERSUITE}, {tlsmod.GROUP} only (OPENSSL_CONF); "
              "certificate: self-signed ECDSA P-256 from the openssl CLI, the same for all")
    md += ["- negotiated (openssl s_client probe): "
           + "; ".join(tlsmod.probe_text(compare.LABELS.get(n, n), r)
                       for n, r in probes.items())]
    counters = [f"`{k}` {v:.0f}" for m in metrics.values() for k, v in m.items()
                if v and ("handshake" in k or "error" in k)]
    if counters:
        md.append("- Gatehouse counters after the runs: " + "; ".join(counters))
    md.append("- " + "; ".join(s["version"] for n, s in servers.items() if n != "upstream"))
    for case, spec in zip(results, cases):
        compare.add_ratios(case)
        case["title"] = spec["title"]
        g = case["summary"].get("gatehouse")
        rt = g.get("ratios", {}) if g else {}
        cpu_vs_nginx = rt.get("cpu_vs_nginx")
        case["goals"] = {"cpu_vs_nginx_le_0.8": None if cpu_vs_nginx is None
                         else cpu_vs_nginx <= CPU_GOAL}
        valid = valid and compare.case_valid(case)
        md += ["", f"### {spec['title']}", "", compare.markdown_table(case)]
        if g:
            md += ["", "Gatehouse goal: CPU ≤ 0.8× nginx "
                   + compare.verdict(case["goals"]["cpu_vs_nginx_le_0.8"])]
        md += compare.md_invalid_runs(case)
    problems = compare.md_log_problems(log_problems)
    if problems:
        md += [""] + problems
    return {"name": NAME, "title": TITLE, "valid": valid, "markdown": "\n".join(md),
            "messages": lineup.messages, "pinning_warnings": pinning, "servers": servers,
            "tls_probes": probes,
            "gatehouse_metrics": metrics, "log_problems": log_problems, "cases": results}
