"""authz — the cost of AuthorizationPolicies per request as their number grows.

wrk (64 keep-alive connections, CPU 0) -> Gatehouse (CPU 1) -> upstream nginx (CPU 0), plain
HTTP on an edge Listener. Three Gatehouse instances run side by side, identical but for the
policies attached to their listener with `targetRefs` (kind Listener, see docs/authz.md): 10,
1 000 and 10 000. No mTLS is involved, so the figure is the policy index and nothing else.

The policies (generated, all in namespace `default`, in name order):

- `allow-00000` ALLOW GET/HEAD on `/first/*`, `allow-<N-1>` ALLOW GET/HEAD on `/last/*`, and
  in between `allow-<i>` ALLOW GET/HEAD on `/p<i>/*` — one distinct path prefix each;
- 5 DENY policies on `/deny<i>/*` (with the listener's port, so the lint stays quiet), which
  every request must get past (step 2 of the decision) before the ALLOWs are looked at.

Cases (the same request for every instance): `first` GET /first/x and `last` GET /last/x are
allowed (200 from the upstream); `none` GET /none/x matches no policy and is denied by
default (403 rbac_denied, a local reply: cheaper than a proxied request, so compare `none`
only across policy counts). The peers do not take part: nginx and HAProxy have no
AuthorizationPolicy to compare with.

Goal (spec/bench.md): cost(10 000) ≤ 1.1 × cost(10), per case, on the same run. Every request
of a window repeats the same path (hot caches); docs/authz.md#performance describes the
spread-out case, measured by the policy unit benchmarks.
"""

from harness import compare
from harness import servers as srv
from harness.lineup import Lineup
from harness.servers import Upstream

NAME = "authz"
TITLE = "AuthorizationPolicies on an edge listener: 10, 1 000, 10 000 policies"

COUNTS = [10, 1000, 10000]
DENIES = 5
GOAL = 1.1  # cost(10 000) ≤ 1.1 × cost(10)
RBAC_BODY = b"RBAC: access denied\n"  # Envoy's body, which Gatehouse sends with its 403

CASES = [
    {"name": "first", "path": "/first/x", "body": Upstream.BODIES["/small"],
     "title": "request allowed by the first policy (GET /first/x, 200)"},
    {"name": "last", "path": "/last/x", "body": Upstream.BODIES["/small"],
     "title": "request allowed by the last policy (GET /last/x, 200)"},
    {"name": "none", "path": "/none/x", "body": RBAC_BODY, "status": 403,
     "title": "request no policy matches (GET /none/x, 403 rbac_denied)"},
]


def policies_yaml(count, listener, port):
    """`count` ALLOW policies (first /first/*, last /last/*, /p<i>/* between) and DENIES
    DENY policies, all attached to `listener` with targetRefs."""
    target = f"targetRefs: [{{group: gatehouse.dev, kind: Listener, name: {listener}}}]"
    out = []
    for i in range(count):
        prefix = "/first/*" if i == 0 else "/last/*" if i == count - 1 else f"/p{i}/*"
        out.append(f"""---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: allow-{i:05d}}}
spec:
  {target}
  rules: [{{to: [{{operation: {{methods: [GET, HEAD], paths: ["{prefix}"]}}}}]}}]
""")
    for i in range(DENIES):
        out.append(f"""---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: deny-{i}}}
spec:
  {target}
  action: DENY
  rules: [{{to: [{{operation: {{ports: ["{port}"], paths: ["/deny{i}/*"]}}}}]}}]
""")
    return "".join(out)


class PolicyGatehouse(srv.Gatehouse):
    """The standard Gatehouse (Listener `bench`, one Service, one HTTPRoute) plus `count`
    generated policies on its listener; named gatehouse-<count> (its own work directory)."""

    def __init__(self, ctx, count, port, admin_port, upstream_port):
        self.name = f"gatehouse-{count}"
        self.label = f"Gatehouse, {count} policies"
        self.count = count
        super().__init__(ctx, port, ctx.proxy_cpu, upstream_port, admin_port, ctx.gatehouse)

    def config_yaml(self):
        return super().config_yaml() + policies_yaml(self.count, "bench", self.port)


def proxies(ctx, up_port):
    # Ports: base+80.. for the listeners, base+90.. for the admin ports (no peer runs here).
    return [PolicyGatehouse(ctx, n, ctx.port(80 + i), ctx.port(90 + i), up_port)
            for i, n in enumerate(COUNTS)]


def _ratio(case, n):
    a = case["summary"].get(f"gatehouse-{n}", {}).get("cpu_us_per_req")
    b = case["summary"].get(f"gatehouse-{COUNTS[0]}", {}).get("cpu_us_per_req")
    return compare.ratio(a, b)


def _count(n):
    return f"{n:,}".replace(",", " ")


def _num(v, fmt=".2f"):
    return "–" if v is None else format(v, fmt)


def summary_table(cases):
    names = [f"gatehouse-{n}" for n in COUNTS]
    head = ("| case | " + " | ".join(f"CPU µs/req, {_count(n)} policies (min–max)"
                                     for n in COUNTS)
            + f" | {_count(COUNTS[1])} / {COUNTS[0]} | {_count(COUNTS[2])} / {COUNTS[0]} "
            f"| goal ≤ {GOAL}× |")
    lines = [head, "|---|" + "--:|" * (len(COUNTS) + 3)]
    for case in cases:
        cells = [case["name"]]
        for n in names:
            s = case["summary"].get(n)
            if not s or s["cpu_us_per_req"] is None:
                cells.append("–")
                continue
            cells.append(f"{s['cpu_us_per_req']:.2f} ({_num(s['cpu_us_per_req_min'])}–"
                         f"{_num(s['cpu_us_per_req_max'])})")
        cells += [compare.fmt_ratio(case["ratio_1000_10"]),
                  compare.fmt_ratio(case["ratio_10000_10"]),
                  compare.verdict(case["goals"]["cost_10000_le_1.1x_cost_10"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(ctx):
    with Lineup(ctx) as lineup:
        lineup.start(proxies)
        pinning = lineup.check_pinning()
        for p in pinning:
            print(f"warning: {p}", flush=True)
        if not lineup.proxies:
            raise RuntimeError("no Gatehouse instance could be started")
        results = compare.interleave(ctx, NAME, lineup.proxies, CASES)
        metrics = {p.name: p.metrics(contains=("authz", "rbac")) for p in lineup.proxies}
        servers = lineup.describe()
        log_problems = lineup.log_problems()

    valid = not lineup.failed
    for case, spec in zip(results, CASES):
        case["title"] = spec["title"]
        case["ratio_1000_10"] = _ratio(case, COUNTS[1])
        case["ratio_10000_10"] = _ratio(case, COUNTS[2])
        r = case["ratio_10000_10"]
        case["goals"] = {"cost_10000_le_1.1x_cost_10": None if r is None else r <= GOAL}
        valid = valid and compare.case_valid(case)

    md = [f"## {NAME} — {TITLE}", ""]
    md += [compare.md_bullet(m) for m in lineup.messages]
    md += [f"- warning: {p}" for p in pinning]
    md.append(f"- goal: cost(10 000 policies) ≤ {GOAL} × cost(10) per case, CPU µs/request "
              "of the Gatehouse process, medians of the interleaved rounds")
    md.append(f"- three Gatehouse instances (`--workers 1`, CPU {ctx.proxy_cpu}), measured in "
              "turn: plain HTTP Listener `bench` with N ALLOW policies (`targetRefs`, one path "
              f"prefix each, GET/HEAD) + {DENIES} DENY policies; first = `/first/*` "
              "(allow-00000), last = `/last/*` (the last by name), none = no policy matches "
              "(403 rbac_denied, a local reply)")
    md.append("- every request of a window repeats one path (hot caches)")
    versions = {s["version"] for n, s in servers.items() if n != "upstream"}
    md.append("- " + "; ".join(sorted(versions)))
    md += ["", summary_table(results)]
    counters = [f"{n}: " + ", ".join(f"`{k}` {v:.0f}" for k, v in m.items() if v)
                for n, m in metrics.items() if any(m.values())]
    if counters:
        md += ["", "- Gatehouse authz counters after the runs: " + "; ".join(counters)]
    for case in results:
        md += ["", f"### {case['title']}", "",
               compare.markdown_table(case, order=[f"gatehouse-{n}" for n in COUNTS])]
        md += compare.md_invalid_runs(case)
    problems = compare.md_log_problems(log_problems)
    if problems:
        md += [""] + problems
    return {"name": NAME, "title": TITLE, "valid": valid, "markdown": "\n".join(md),
            "messages": lineup.messages, "pinning_warnings": pinning, "servers": servers,
            "policy_counts": COUNTS, "deny_policies": DENIES,
            "gatehouse_metrics": metrics, "log_problems": log_problems, "cases": results}
