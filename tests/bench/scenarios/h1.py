"""h1 — plain HTTP/1.1 keep-alive through one proxy worker.

wrk (64 keep-alive connections, CPU 0) -> proxy (CPU 1) -> upstream nginx (CPU 0), for a
small body (3 bytes, nginx `return 200`), a 1 KiB and a 64 KiB static body. nginx, HAProxy
and Gatehouse are measured interleaved; the report gives medians and ratios.

Goal (spec/bench.md): Gatehouse CPU/request ≤ 0.8 × nginx and ≤ 0.8 × HAProxy, and
p99 ≤ nginx's, on the same run.
"""

from harness import compare
from harness.lineup import Lineup
from harness.servers import Upstream

NAME = "h1"
TITLE = "plain HTTP/1.1 keep-alive"

CASES = [
    {"name": "small", "path": "/", "body": Upstream.BODIES["/small"],
     "title": "small body (3 B, nginx `return 200`)"},
    {"name": "1k", "path": "/1k", "body": Upstream.BODIES["/1k"], "title": "1 KiB body"},
    {"name": "64k", "path": "/64k", "body": Upstream.BODIES["/64k"], "title": "64 KiB body"},
]

CPU_GOAL = 0.8  # Gatehouse CPU/request ≤ 0.8 × each peer


def goals(case):
    """Goal verdicts for Gatehouse in one case (None when it or a peer was not measured)."""
    g = case["summary"].get("gatehouse")
    if not g or g["cpu_us_per_req"] is None:
        return None
    rt = g.get("ratios", {})

    def le(v, limit):
        return None if v is None else v <= limit

    return {
        "cpu_vs_nginx_le_0.8": le(rt.get("cpu_vs_nginx"), CPU_GOAL),
        "cpu_vs_haproxy_le_0.8": le(rt.get("cpu_vs_haproxy"), CPU_GOAL),
        "p99_le_nginx": le(rt.get("p99_vs_nginx"), 1.0),
    }


def _verdict(v):
    return "–" if v is None else ("met" if v else "**not met**")


def run(ctx):
    with Lineup(ctx) as lineup:
        lineup.start()
        pinning = lineup.check_pinning()
        for p in pinning:
            print(f"warning: {p}", flush=True)
        if not lineup.proxies:
            raise RuntimeError("no proxy could be started")
        cases = compare.interleave(ctx, NAME, lineup.proxies, CASES)
        servers = lineup.describe()
        log_problems = lineup.log_problems()

    valid = not lineup.failed
    md = [f"## {NAME} — {TITLE}", ""]
    md += [compare.md_bullet(m) for m in lineup.messages]
    md += [f"- warning: {p}" for p in pinning]
    md.append("- goal: Gatehouse CPU/request ≤ 0.8 × nginx and ≤ 0.8 × HAProxy; "
              "p99 ≤ nginx's")
    md.append("- " + "; ".join(f"{s['version']}" for n, s in servers.items()
                                if n != "upstream"))
    for case, spec in zip(cases, CASES):
        compare.add_ratios(case)
        case["goals"] = goals(case)
        case["title"] = spec["title"]
        bad = [r for r in case["runs"] if not r["valid"]]
        if bad or not all(c["ok"] for c in case["check"].values()):
            valid = False
        md += ["", f"### {spec['title']}", "", compare.markdown_table(case)]
        if case["goals"]:
            g = case["goals"]
            md += ["", f"Gatehouse goals: CPU ≤ 0.8× nginx {_verdict(g['cpu_vs_nginx_le_0.8'])}; "
                       f"CPU ≤ 0.8× HAProxy {_verdict(g['cpu_vs_haproxy_le_0.8'])}; "
                       f"p99 ≤ nginx {_verdict(g['p99_le_nginx'])}"]
        for r in bad:
            md.append(f"\n- INVALID run: {r['proxy']} round {r['round']}: "
                      + "; ".join(n.splitlines()[0] for n in r["notes"]))
    problems = {k: v for k, v in log_problems.items() if v}
    if problems:
        md.append("")
        for name, lines in problems.items():
            md.append(f"- {name} log: " + " / ".join(lines[:3])
                      + (f" (+{len(lines) - 3} more)" if len(lines) > 3 else ""))
    return {"name": NAME, "title": TITLE, "valid": valid, "markdown": "\n".join(md),
            "messages": lineup.messages, "pinning_warnings": pinning, "servers": servers,
            "log_problems": log_problems, "cases": cases}
