"""routes — the cost of route matching per request as the route table grows, and load time.

wrk (64 keep-alive connections, CPU 0) -> Gatehouse (CPU 1) -> upstream nginx (CPU 0), plain
HTTP. Three Gatehouse instances run side by side, identical but for the number of route
rules on their listener: 10, 1 000 and 100 000. Every rule is a PathPrefix match of its own
on the listener's one host, in HTTPRoutes of 1 000 rules each — the hardest shape for a
matcher (no host to narrow the search), the same for every count: `/first/`, `/r<i>/` ...,
and `/last/` as the last rule of the last route.

Cases (the same request for every instance): `best` GET /first/x and `worst` GET /last/x. The peers do not take
part: their configuration languages have no Gateway API routes to compare with.

Load time: from starting `gatehouse run` to its admin `/ready` answering 200 — reading the
stored version from SQLite, decoding, validating and compiling it, opening the listener — with
the CPU time the process used for it (the steadier figure on a shared machine) and its
resident memory once ready.

Goal (spec/bench.md): cost(100 000) ≤ 1.05 × cost(10) per case; load time < 2 s.
"""

import os
import time

from harness import compare
from harness import proc as procmod
from harness import servers as srv
from harness.lineup import Lineup
from harness.servers import Upstream

NAME = "routes"
TITLE = "route matching: 10, 1 000, 100 000 route rules"

COUNTS = [10, 1000, 100000]
PER_ROUTE = 1000
GOAL = 1.05     # cost(100 000) ≤ 1.05 × cost(10)
LOAD_GOAL = 2.0  # seconds


CASES = [
    {"name": "best", "path": "/first/x", "body": Upstream.BODIES["/small"],
     "title": "the first rule matches (GET /first/x)"},
    {"name": "worst", "path": "/last/x", "body": Upstream.BODIES["/small"],
     "title": "the last rule matches (GET /last/x)"},
]


def prefix(i, count):
    return "/first/" if i == 0 else "/last/" if i == count - 1 else f"/r{i}/"


def routes_yaml(count, listener):
    out = []
    for r in range((count + PER_ROUTE - 1) // PER_ROUTE):
        first, last = r * PER_ROUTE, min(count, (r + 1) * PER_ROUTE)
        rules = "\n".join(
            f"    - matches: [{{path: {{type: PathPrefix, value: {prefix(i, count)}}}}}]\n"
            f"      backendRefs: [{{name: upstream}}]" for i in range(first, last))
        out.append(f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: routes-{r:04d}}}
spec:
  parentRefs: [{{name: {listener}}}]
  rules:
{rules}
""")
    return "".join(out)


def cpu_seconds(pid):
    """utime + stime of the process so far."""
    try:
        fields = procmod.read_stat(pid)
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class RoutesGatehouse(srv.Gatehouse):
    """The bench Gatehouse with `count` generated route rules instead of its one catch-all
    route; named gatehouse-<count>. Records its load time and memory."""

    def __init__(self, ctx, count, port, admin_port, upstream_port):
        self.name = f"gatehouse-{count}"
        self.label = f"Gatehouse, {count} routes"
        self.count = count
        self.load_seconds = None
        self.rss_ready = None
        self.cpu_ready = None
        super().__init__(ctx, port, ctx.proxy_cpu, upstream_port, admin_port, ctx.gatehouse)

    def config_yaml(self):
        return self.listener_yaml() + f"""---
apiVersion: gatehouse.dev/v1
kind: Service
metadata: {{name: upstream}}
spec:
  endpoints: [{{address: 127.0.0.1, port: {self.upstream_port}}}]
""" + routes_yaml(self.count, "bench")

    def _spawn(self, argv, wait_port=None):
        self._spawned_at = time.monotonic()
        super()._spawn(argv, wait_port)

    def wait_ready(self):
        super().wait_ready()
        self.load_seconds = time.monotonic() - self._spawned_at
        self.rss_ready = rss_bytes(self.proc.pid)
        self.cpu_ready = cpu_seconds(self.proc.pid)


def proxies(ctx, up_port):
    return [RoutesGatehouse(ctx, n, ctx.port(80 + i), ctx.port(90 + i), up_port)
            for i, n in enumerate(COUNTS)]


def _ratio(case, n):
    a = case["summary"].get(f"gatehouse-{n}", {}).get("cpu_us_per_req")
    b = case["summary"].get(f"gatehouse-{COUNTS[0]}", {}).get("cpu_us_per_req")
    return compare.ratio(a, b)


def _count(n):
    return f"{n:,}".replace(",", " ")


def run(ctx):
    results = []
    with Lineup(ctx) as lineup:
        lineup.start(proxies)
        if not lineup.proxies:
            raise RuntimeError("no Gatehouse instance could be started")
        pinning = lineup.check_pinning()
        loads = {p.name: {"routes": p.count, "load_seconds": p.load_seconds,
                          "cpu_seconds": p.cpu_ready, "rss_bytes": p.rss_ready}
                 for p in lineup.proxies}
        results = compare.interleave(ctx, NAME, lineup.proxies, CASES)
        servers = lineup.describe()
        log_problems = lineup.log_problems()

    valid = not lineup.failed
    for case, spec in zip(results, CASES):
        case["title"] = spec["title"]
        case["ratio_1000_10"] = _ratio(case, COUNTS[1])
        case["ratio_100000_10"] = _ratio(case, COUNTS[2])
        r = case["ratio_100000_10"]
        case["goals"] = {"cost_100000_le_1.05x_cost_10": None if r is None else r <= GOAL}
        valid = valid and compare.case_valid(case)
    big = loads.get(f"gatehouse-{COUNTS[-1]}", {}).get("load_seconds")
    load_goal = None if big is None else big < LOAD_GOAL

    md = [f"## {NAME} — {TITLE}", ""]
    md += [compare.md_bullet(m) for m in lineup.messages]
    md += [f"- warning: {p}" for p in pinning]
    md.append(f"- goal: cost(100 000 routes) ≤ {GOAL} × cost(10) per case; load time "
              f"< {LOAD_GOAL:.0f} s")
    md.append(f"- three Gatehouse instances (`--workers 1`, CPU {ctx.proxy_cpu}), measured "
              f"interleaved: N PathPrefix rules on one host, {PER_ROUTE} per HTTPRoute — "
              "`/first/`, then `/r<i>/`, and `/last/` as the last rule of the last route")
    versions = {s["version"] for n, s in servers.items() if n != "upstream"}
    md.append("- " + "; ".join(sorted(versions)))
    md += ["", "| routes | load time (start → /ready) | its CPU time | RSS when ready |",
           "|---:|---:|---:|---:|"]
    for l in loads.values():
        secs, cpu, rss = l["load_seconds"], l["cpu_seconds"], l["rss_bytes"]
        md.append(f"| {_count(l['routes'])} | {'–' if secs is None else f'{secs:.2f} s'} | "
                  f"{'–' if cpu is None else f'{cpu:.2f} s'} | "
                  f"{'–' if rss is None else f'{rss / 1048576:.1f} MiB'} |")
    if load_goal is not None:
        md += ["", f"Load time of {_count(COUNTS[-1])} routes < {LOAD_GOAL:.0f} s "
               + compare.verdict(load_goal)]
    md += ["", "| case | " + " | ".join(f"CPU µs/req, {_count(n)} routes" for n in COUNTS)
           + f" | {_count(COUNTS[2])} / {COUNTS[0]} | goal ≤ {GOAL}× |",
           "|---|" + "--:|" * (len(COUNTS) + 2)]
    for case in results:
        cells = [case["name"]]
        for n in COUNTS:
            s = case["summary"].get(f"gatehouse-{n}")
            cells.append("–" if not s or s["cpu_us_per_req"] is None
                         else f"{s['cpu_us_per_req']:.2f}")
        cells += [compare.fmt_ratio(case["ratio_100000_10"]),
                  compare.verdict(case["goals"]["cost_100000_le_1.05x_cost_10"])]
        md.append("| " + " | ".join(cells) + " |")
    for case in results:
        md += ["", f"### {case['title']}", "",
               compare.markdown_table(case, order=[f"gatehouse-{n}" for n in COUNTS])]
        md += compare.md_invalid_runs(case)
    problems = compare.md_log_problems(log_problems)
    if problems:
        md += [""] + problems
    return {"name": NAME, "title": TITLE, "valid": valid, "markdown": "\n".join(md),
            "messages": lineup.messages, "servers": servers, "route_counts": COUNTS,
            "loads": loads, "load_goal_met": load_goal, "log_problems": log_problems,
            "cases": results}
