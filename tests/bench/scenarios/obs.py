"""obs — what observability costs per request: h1's cases with the access log and tracing on.

wrk (64 keep-alive connections, CPU 0) -> proxy (CPU 1) -> upstream nginx (CPU 0), plain
HTTP, h1's three cases (small body, 1 KiB, 64 KiB). Gatehouse variants, measured interleaved:

- `gatehouse`: metrics only (the Istio and gatehouse_* metrics are always recorded);
- `gatehouse-obs`: metrics, the JSON access log to a file, and tracing at 1% sampling with
  spans exported to a collector (a small HTTP server on the load CPU that answers 200);
- `gatehouse-baseline` (only when GATEHOUSE_BASELINE names another build, e.g. one from
  before the metrics landed): that binary with no flags, to put a figure on the metrics.

Every thread of Gatehouse, the access-log writer and the span exporter included, is pinned to
the proxy CPU, so their CPU time is in the figure. Goal (issue 8): metrics + access log +
tracing at 1% cost under 5% of CPU per request.
"""

import os
import subprocess
import sys

from harness import compare
from harness import servers as srv
from harness.lineup import Lineup
from harness.servers import Upstream

NAME = "obs"
TITLE = "observability cost: metrics, JSON access log, tracing at 1%"

GOAL = 1.05
ROWS = ["gatehouse-baseline", "gatehouse", "gatehouse-obs"]

CASES = [
    {"name": "small", "path": "/", "body": Upstream.BODIES["/small"],
     "title": "small body (3 B, nginx `return 200`)"},
    {"name": "1k", "path": "/1k", "body": Upstream.BODIES["/1k"], "title": "1 KiB body"},
    {"name": "64k", "path": "/64k", "body": Upstream.BODIES["/64k"], "title": "64 KiB body"},
]

COLLECTOR = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        n = int(self.headers.get("content-length", "0"))
        self.rfile.read(n)
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


class Collector(srv.Server):
    """An OTLP/HTTP sink: answers every POST with 200 and forgets it."""

    name = "collector"
    label = "OTLP collector"

    def start(self):
        self._prepare_dir()
        self._spawn([sys.executable, "-c", COLLECTOR, str(self.port)])

    def version(self):
        return "python3 http.server (answers 200)"


class ObsGatehouse(srv.Gatehouse):
    def __init__(self, ctx, kind, port, admin_port, upstream_port, binary, args):
        self.name = f"gatehouse-{kind}" if kind != "metrics" else "gatehouse"
        self.label = {"metrics": "Gatehouse, metrics only",
                      "obs": "Gatehouse, metrics + JSON access log + tracing 1%",
                      "baseline": "Gatehouse baseline build"}[kind]
        self.extra_args = args
        super().__init__(ctx, port, ctx.proxy_cpu, upstream_port, admin_port, binary)

    def start(self):
        saved = os.environ.get("GATEHOUSE_RUN_ARGS")
        os.environ["GATEHOUSE_RUN_ARGS"] = " ".join(self.extra_args(self))
        try:
            super().start()
        finally:
            if saved is None:
                os.environ.pop("GATEHOUSE_RUN_ARGS", None)
            else:
                os.environ["GATEHOUSE_RUN_ARGS"] = saved


def proxies(ctx, up_port):
    collector_port = ctx.port(87)
    out = [
        ObsGatehouse(ctx, "metrics", ctx.port(80), ctx.port(90), up_port, ctx.gatehouse,
                     lambda g: []),
        ObsGatehouse(ctx, "obs", ctx.port(83), ctx.port(91), up_port, ctx.gatehouse,
                     lambda g: ["--access-log", os.path.join(g.dir, "access.log"),
                                "--access-log-format", "json",
                                "--tracing-collector",
                                f"http://127.0.0.1:{collector_port}/v1/traces",
                                "--tracing-sampling", "1"]),
    ]
    base = os.environ.get("GATEHOUSE_BASELINE")
    if base:
        out.append(ObsGatehouse(ctx, "baseline", ctx.port(84), ctx.port(92), up_port,
                                os.path.abspath(base), lambda g: []))
    return out


def _cpu(case, name):
    s = case["summary"].get(name)
    return s["cpu_us_per_req"] if s else None


def _fmt(v, f=".2f"):
    return "–" if v is None else format(v, f)


def _spans(g):
    m = g.metrics(contains=("span", "access_log"))
    return {k: v for k, v in m.items() if "gatehouse_" in k}


def run(ctx):
    collector = Collector(ctx, ctx.port(87), ctx.load_cpu)
    collector.start()
    try:
        with Lineup(ctx) as lineup:
            lineup.start(proxies)
            pinning = lineup.check_pinning()
            for p in pinning:
                print(f"warning: {p}", flush=True)
            if not lineup.proxies:
                raise RuntimeError("no proxy could be started")
            cases = compare.interleave(ctx, NAME, lineup.proxies, CASES)
            metrics = {p.name: _spans(p) for p in lineup.proxies if p.name == "gatehouse-obs"}
            servers = lineup.describe()
            log_problems = lineup.log_problems()
            access_lines = 0
            for p in lineup.proxies:
                if p.name == "gatehouse-obs":
                    try:
                        out = subprocess.run(["wc", "-l", os.path.join(p.dir, "access.log")],
                                             stdout=subprocess.PIPE)
                        access_lines = int(out.stdout.split()[0])
                    except (OSError, ValueError, IndexError):
                        pass
    finally:
        collector.stop()

    valid = not lineup.failed
    md = [f"## {NAME} — {TITLE}", ""]
    md += [compare.md_bullet(m) for m in lineup.messages]
    md += [f"- warning: {p}" for p in pinning]
    md.append("- goal: metrics + JSON access log + tracing at 1% ≤ 1.05 × CPU/request of "
              "the same build without them (metrics alone: against GATEHOUSE_BASELINE)")
    md.append(f"- access log lines written: {access_lines}; exporter and log counters: "
              + ", ".join(f"{k} {v:g}" for k, v in sorted(metrics.get("gatehouse-obs",
                                                                       {}).items())))
    for case, spec in zip(cases, CASES):
        case["title"] = spec["title"]
        m, o, b = (_cpu(case, n) for n in ("gatehouse", "gatehouse-obs", "gatehouse-baseline"))
        ratios = {"obs_vs_metrics": compare.ratio(o, m),
                  "metrics_vs_baseline": compare.ratio(m, b),
                  "obs_vs_baseline": compare.ratio(o, b)}
        case["ratios"] = ratios
        whole = ratios["obs_vs_baseline"] or ratios["obs_vs_metrics"]
        case["goals"] = {"obs_le_1.05": None if whole is None else whole <= GOAL}
        if not compare.case_valid(case):
            valid = False
        md += ["", f"### {spec['title']}", "", compare.markdown_table(case, order=ROWS), "",
               "| ratio (CPU µs/req, medians) | value |", "|---|--:|",
               f"| access log + tracing 1% / metrics only | "
               f"{compare.fmt_ratio(ratios['obs_vs_metrics'])} |",
               f"| metrics only / baseline build | "
               f"{compare.fmt_ratio(ratios['metrics_vs_baseline'])} |",
               f"| everything / baseline build | {compare.fmt_ratio(ratios['obs_vs_baseline'])} |",
               f"| overhead of access log + tracing, µs/req | "
               f"{_fmt(None if o is None or m is None else o - m)} |",
               "", f"Goal ≤ 1.05×: {compare.verdict(case['goals']['obs_le_1.05'])}"]
        md += compare.md_invalid_runs(case)
    problems = compare.md_log_problems(log_problems)
    if problems:
        md += [""] + problems
    return {"name": NAME, "title": TITLE, "valid": valid, "markdown": "\n".join(md),
            "messages": lineup.messages, "pinning_warnings": pinning, "servers": servers,
            "metrics": metrics, "log_problems": log_problems, "cases": cases}
