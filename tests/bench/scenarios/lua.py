"""lua — what a Lua hook costs per request, against nginx's Lua module doing the same.

wrk (64 keep-alive connections, CPU 0) -> proxy (CPU 1) -> upstream nginx (CPU 0), plain
HTTP, small body. Six proxies, measured interleaved:

- Gatehouse with no hook, with a no-op request hook, and with a hook that reads two headers
  and sets one (`:authority` and `:path` read, `x-lua` set — the realistic case of the spec);
- nginx with no Lua, with an empty `access_by_lua_block`, and with the same logic in
  `access_by_lua_block` (`ngx.var.host`, `ngx.var.uri`, `ngx.req.set_header`), nginx's Lua
  module (OpenResty's, Debian's libnginx-mod-http-lua) on the same LuaJIT.

Goals (spec/bench.md, spec/lua.md): Gatehouse's no-op hook costs ≤ 3% over no hook, the
realistic hook ≤ 10% — and less than the same hook costs nginx (its overhead over its own
no-Lua figure).
"""

from harness import compare
from harness import servers as srv
from harness.lineup import Lineup
from harness.servers import Upstream

NAME = "lua"
TITLE = "Lua hooks: none, no-op, read 2 headers + set 1; nginx-lua alike"

NOOP_GOAL = 1.03
REALISTIC_GOAL = 1.10

CASES = [
    {"name": "small", "path": "/", "body": Upstream.BODIES["/small"],
     "title": "small body (3 B), GET /"},
]

LUA = {
    "none": None,
    "noop": "function envoy_on_request(h)\nend\n",
    "headers": ("function envoy_on_request(h)\n"
                "  local hs = h:headers()\n"
                "  local host = hs:get(\":authority\")\n"
                "  local path = hs:get(\":path\")\n"
                "  hs:replace(\"x-lua\", host .. path)\n"
                "end\n"),
}

NGINX_LUA = {
    "none": None,
    "noop": "",
    "headers": "local host = ngx.var.host\n"
               "            local path = ngx.var.uri\n"
               "            ngx.req.set_header(\"x-lua\", host .. path)",
}

MODULES = "/usr/share/nginx/modules"
ROWS = [f"gatehouse-{k}" for k in LUA] + [f"nginx-{k}" for k in NGINX_LUA]


class LuaGatehouse(srv.Gatehouse):
    def __init__(self, ctx, kind, port, admin_port, upstream_port):
        self.name = f"gatehouse-{kind}"
        self.label = f"Gatehouse, Lua {kind}"
        self.lua_kind = kind
        super().__init__(ctx, port, ctx.proxy_cpu, upstream_port, admin_port, ctx.gatehouse)

    def config_yaml(self):
        src = LUA[self.lua_kind]
        if src is None:
            return super().config_yaml()
        body = "\n".join("      " + ln for ln in src.splitlines())
        return super().config_yaml() + f"""---
apiVersion: gatehouse.dev/v1
kind: LuaScript
metadata: {{name: bench-{self.lua_kind}}}
spec:
  attachTo: [{{kind: Listener, name: bench}}]
  source:
    inline: |
{body}
"""


class LuaNginx(srv.NginxProxy):
    """nginx as in the other scenarios, plus (when kind is not none) the Lua module and an
    access_by_lua_block in the proxying location."""

    def __init__(self, ctx, kind, port, upstream_port):
        self.name = f"nginx-{kind}"
        self.label = f"nginx, Lua {kind}"
        self.lua_kind = kind
        super().__init__(ctx, port, ctx.proxy_cpu, upstream_port)
        self.peer_kind = "nginx"  # BENCH_PROXIES selects these as "nginx"

    def _write_and_start(self, http_block):
        code = NGINX_LUA[self.lua_kind]
        if code is not None:
            # nginx wants load_module before `events`; the Lua module needs the NDK.
            self.main_lines = (f"load_module {MODULES}/ndk_http_module.so;\n"
                               f"load_module {MODULES}/ngx_http_lua_module.so;")
            http_block = http_block.replace(
                "        location / {\n",
                "        location / {\n            access_by_lua_block {\n            "
                + code + "\n            }\n", 1)
        super()._write_and_start(http_block)


def proxies(ctx, up_port):
    out = []
    for i, kind in enumerate(LUA):
        out.append(LuaGatehouse(ctx, kind, ctx.port(80 + i), ctx.port(90 + i), up_port))
    for i, kind in enumerate(NGINX_LUA):
        out.append(LuaNginx(ctx, kind, ctx.port(83 + i), up_port))
    return out


def _cpu(case, name):
    s = case["summary"].get(name)
    return s["cpu_us_per_req"] if s else None


def _fmt(v, f=".2f"):
    return "–" if v is None else format(v, f)


def run(ctx):
    with Lineup(ctx) as lineup:
        lineup.start(proxies)
        pinning = lineup.check_pinning()
        for p in pinning:
            print(f"warning: {p}", flush=True)
        if not lineup.proxies:
            raise RuntimeError("no proxy could be started")
        cases = compare.interleave(ctx, NAME, lineup.proxies, CASES)
        metrics = {p.name: p.metrics(contains=("lua",)) for p in lineup.proxies
                   if p.is_gatehouse}
        servers = lineup.describe()
        log_problems = lineup.log_problems()

    valid = not lineup.failed
    md = [f"## {NAME} — {TITLE}", ""]
    md += [compare.md_bullet(m) for m in lineup.messages]
    md += [f"- warning: {p}" for p in pinning]
    md.append("- goal: Gatehouse no-op hook ≤ 1.03 × no hook; read-2-set-1 hook ≤ 1.10 × no "
              "hook and a smaller overhead than nginx-lua's with the same logic")
    for case, spec in zip(cases, CASES):
        case["title"] = spec["title"]
        g0, g1, g2 = (_cpu(case, f"gatehouse-{k}") for k in LUA)
        n0, n1, n2 = (_cpu(case, f"nginx-{k}") for k in NGINX_LUA)
        ratios = {
            "gatehouse_noop_vs_none": compare.ratio(g1, g0),
            "gatehouse_headers_vs_none": compare.ratio(g2, g0),
            "nginx_noop_vs_none": compare.ratio(n1, n0),
            "nginx_headers_vs_none": compare.ratio(n2, n0),
            "gatehouse_headers_vs_nginx_headers": compare.ratio(g2, n2),
        }
        case["ratios"] = ratios

        def le(v, limit):
            return None if v is None else v <= limit
        gh_over = None if g2 is None or g0 is None else g2 - g0
        ng_over = None if n2 is None or n0 is None else n2 - n0
        case["overhead_us"] = {"gatehouse": gh_over, "nginx": ng_over}
        case["goals"] = {
            "noop_le_1.03": le(ratios["gatehouse_noop_vs_none"], NOOP_GOAL),
            "headers_le_1.10": le(ratios["gatehouse_headers_vs_none"], REALISTIC_GOAL),
            "headers_overhead_below_nginx_lua": (None if gh_over is None or ng_over is None
                                                 else gh_over < ng_over),
        }
        bad = [r for r in case["runs"] if not r["valid"]]
        if bad or not all(c["ok"] for c in case["check"].values()):
            valid = False
        md += ["", f"### {spec['title']}", "", compare.markdown_table(case, order=ROWS),
               "",
               "| ratio (CPU µs/req, medians) | value | goal |", "|---|--:|---|",
               f"| Gatehouse no-op / no hook | {compare.fmt_ratio(ratios['gatehouse_noop_vs_none'])}"
               f" | ≤ 1.03: {compare.verdict(case['goals']['noop_le_1.03'])} |",
               f"| Gatehouse read 2 + set 1 / no hook | "
               f"{compare.fmt_ratio(ratios['gatehouse_headers_vs_none'])}"
               f" | ≤ 1.10: {compare.verdict(case['goals']['headers_le_1.10'])} |",
               f"| nginx empty access_by_lua / no Lua | "
               f"{compare.fmt_ratio(ratios['nginx_noop_vs_none'])} | |",
               f"| nginx-lua read 2 + set 1 / no Lua | "
               f"{compare.fmt_ratio(ratios['nginx_headers_vs_none'])} | |",
               f"| overhead of the realistic hook, µs/req: Gatehouse {_fmt(gh_over)}, "
               f"nginx {_fmt(ng_over)} | | Gatehouse's smaller: "
               f"{compare.verdict(case['goals']['headers_overhead_below_nginx_lua'])} |"]
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
            "metrics": metrics, "log_problems": log_problems, "cases": cases}
