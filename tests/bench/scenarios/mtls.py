"""mtls — two mesh hops: outbound proxy -> mutual TLS -> inbound proxy -> upstream.

wrk (plain HTTP, 64 keep-alive connections, `Host: orders`, CPU 0) -> outbound hop ->
mTLS with keep-alive -> inbound hop -> upstream nginx (CPU 0). Both hops of a chain run on
CPU 1, one worker each. Chains: Gatehouse (MESH_OUTBOUND node -> MESH_INBOUND node, workload
SVIDs from `gatehouse ca init`'s CA) and the same built from two nginx instances with
certificates from the same CA and the same P-256 keys (harness.mesh). A probe handshake with
openssl s_client and the caller's certificate shows what each inbound hop negotiates.

Figure: CPU µs/request per hop = (CPU of both proxy processes) / requests / 2.
Goal (spec/bench.md): Gatehouse ≤ 0.8 × the nginx chain.
"""

import os

from harness import compare
from harness import mesh
from harness import tls as tlsmod
from harness.compare import fmt_ratio, fmt_us
from harness.lineup import Lineup
from harness.servers import Upstream

NAME = "mtls"
TITLE = "two hops over mutual TLS (outbound -> mTLS -> inbound -> upstream)"

CPU_GOAL = 0.8  # Gatehouse CPU per hop ≤ 0.8 × nginx's chain
HOPS = 2


def table(case, order=("nginx", "gatehouse")):
    lines = ["| chain | CPU µs/req per hop | (min–max) | outbound / inbound µs/req | req/s | "
             "p50 | p99 | CPU vs nginx | p99 vs nginx | valid runs | proxy core busy | "
             "foreign load |",
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for name in order:
        s = case["summary"].get(name)
        if s is None:
            continue
        rt = s.get("ratios", {})
        cpu, lo, hi = s["cpu_us_per_req"], s["cpu_us_per_req_min"], s["cpu_us_per_req_max"]
        parts = s.get("cpu_us_per_req_by_part", {})
        out = next((v for k, v in parts.items() if k.endswith("outbound")), None)
        inb = next((v for k, v in parts.items() if k.endswith("inbound")), None)
        cells = [compare.LABELS.get(name, name),
                 "–" if cpu is None else f"{cpu / HOPS:.2f}",
                 "–" if lo is None else f"{lo / HOPS:.2f}–{hi / HOPS:.2f}",
                 "–" if out is None or inb is None else f"{out:.2f} / {inb:.2f}",
                 "–" if s["rps"] is None else f"{s['rps']:.0f}",
                 fmt_us(s["p50_us"]), fmt_us(s["p99_us"]),
                 fmt_ratio(rt.get("cpu_vs_nginx")), fmt_ratio(rt.get("p99_vs_nginx")),
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
    mesh_dir = os.path.join(ctx.work, "mesh-pki")
    pki = mesh.Pki(ctx.gatehouse if ctx.gatehouse_built() else None, mesh_dir)
    env = tlsmod.client_env(os.path.join(ctx.work, "tls"))
    caller = pki.write_pair(mesh_dir, "probe-caller", mesh.FRONTEND)
    cases = [{"name": "small", "path": "/", "body": Upstream.BODIES["/small"],
              "title": "small body (3 B), keep-alive on both sides",
              "headers": {"Host": mesh.HOST}}]

    with Lineup(ctx) as lineup:
        lineup.start(lambda c, up_port: mesh.chains(c, up_port, pki))
        pinning = lineup.check_pinning()
        for p in pinning:
            print(f"warning: {p}", flush=True)
        if not lineup.proxies:
            raise RuntimeError("no chain could be started")
        probes = {c.name: tlsmod.probe(c.inbound.port, env, caller.cert, caller.key,
                                       servername=None)
                  for c in lineup.proxies}
        for name, r in probes.items():
            print(tlsmod.probe_text(f"{name} inbound", r), flush=True)
        results = compare.interleave(ctx, NAME, lineup.proxies, cases)
        metrics = {hop.name: hop.metrics() for c in lineup.proxies if c.is_gatehouse
                   for hop in c.hops()}
        servers = lineup.describe()
        log_problems = lineup.log_problems()

    valid = not lineup.failed and all(r["ok"] for r in probes.values())
    md = [f"## {NAME} — {TITLE}", ""]
    md += [compare.md_bullet(m) for m in lineup.messages]
    md += [f"- warning: {p}" for p in pinning]
    md.append("- goal: Gatehouse CPU/request per hop ≤ 0.8 × the nginx chain's")
    md.append(f"- load: wrk, plain HTTP, {ctx.connections} keep-alive connections, "
              f"`Host: {mesh.HOST}`, to the outbound hop; both hops of a chain pinned to CPU "
              f"{ctx.proxy_cpu}, one worker each; per hop = CPU of both processes ÷ requests "
              "÷ 2")
    md.append("- certificates: one P-256 CA (`gatehouse ca init`), one P-256 key per "
              "identity (frontend, orders) shared by both chains; Gatehouse gets X.509-SVIDs, "
              "nginx certificates for the same keys plus a DNS name (`proxy_ssl_name "
              f"{mesh.HOST}`); nginx outbound offers only {tlsmod.CIPHERSUITE} "
              "(`proxy_ssl_conf_command`), Gatehouse's client prefers it (BoringSSL)")
    md += ["- inbound hop, probed with openssl s_client and the caller's certificate: "
           + "; ".join(tlsmod.probe_text(compare.LABELS.get(n, n), r)
                       for n, r in probes.items())]
    counters = [f"{hop} `{k}` {v:.0f}" for hop, m in metrics.items() for k, v in m.items()
                if v and ("handshake" in k or "mtls_connections" in k or "error" in k)]
    if counters:
        md.append("- Gatehouse counters after the runs (few mTLS handshakes for all the "
                  "requests = the hop between the nodes is kept alive): " + "; ".join(counters))
    md.append("- Gatehouse's inbound hop also adds `x-forwarded-client-cert` (nginx's "
              "chain does not)")
    md.append("- " + "; ".join(s["version"] for n, s in servers.items() if n != "upstream"))
    for case, spec in zip(results, cases):
        compare.add_ratios(case, refs=("nginx",))
        case["title"] = spec["title"]
        for s in case["summary"].values():
            cpu = s["cpu_us_per_req"]
            s["cpu_us_per_req_per_hop"] = None if cpu is None else cpu / HOPS
        g = case["summary"].get("gatehouse")
        vs_nginx = g.get("ratios", {}).get("cpu_vs_nginx") if g else None
        case["goals"] = {"cpu_per_hop_vs_nginx_le_0.8": None if vs_nginx is None
                         else vs_nginx <= CPU_GOAL}
        valid = valid and compare.case_valid(case)
        md += ["", f"### {spec['title']}", "", table(case)]
        if g:
            md += ["", "Gatehouse goal: CPU per hop ≤ 0.8× nginx's chain "
                   + compare.verdict(case["goals"]["cpu_per_hop_vs_nginx_le_0.8"])]
        md += compare.md_invalid_runs(case)
    problems = compare.md_log_problems(log_problems)
    if problems:
        md += [""] + problems
    return {"name": NAME, "title": TITLE, "valid": valid, "markdown": "\n".join(md),
            "messages": lineup.messages, "pinning_warnings": pinning, "servers": servers,
            "tls_probes": probes, "gatehouse_metrics": metrics, "log_problems": log_problems,
            "cases": results}
