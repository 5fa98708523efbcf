"""The standard line-up: upstream nginx on the load CPU, and the proxies under test on the
proxy CPU, all started and stopped together. Scenarios that need something else (TLS, two
hops, Lua) build their own line-up from servers.py the same way.
"""

import sys

from . import servers as srv


class Lineup:
    """Started servers of one scenario. Always `stop()` it (use it as a context manager)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.upstream = None
        self.proxies = []      # started proxies, in interleaving order
        self.messages = []     # for the report (e.g. "gatehouse: not built")
        self.failed = False    # a proxy that should have run could not start

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def say(self, msg, error=False):
        print(msg, file=sys.stderr if error else sys.stdout, flush=True)
        self.messages.append(msg)

    def start(self, make_proxies=None):
        """Start the upstream, then each wanted proxy (make_proxies(ctx, upstream_port) gives
        them; default: nginx, HAProxy, Gatehouse over plain HTTP). A peer that cannot start
        is fatal (the comparison would mean nothing); Gatehouse missing or failing is
        reported and the peers are still measured."""
        ctx = self.ctx
        up_port = ctx.port(0)
        self.upstream = srv.Upstream(ctx, up_port, ctx.load_cpu)
        self.upstream.start()
        candidates = make_proxies(ctx, up_port) if make_proxies else default_proxies(ctx, up_port)
        for p in candidates:
            # BENCH_PROXIES names kinds: "gatehouse" selects every Gatehouse instance of a
            # scenario that runs several (authz: gatehouse-10, gatehouse-1000, ...).
            # A peer in several variants (lua: nginx-none, nginx-noop, ...) says its kind.
            if ("gatehouse" if p.is_gatehouse else getattr(p, "peer_kind", p.name)) \
                    not in ctx.proxies:
                continue
            if p.is_gatehouse and not ctx.gatehouse_built():
                self.say("gatehouse: not built")
                continue
            try:
                p.start()
            except srv.StartError as e:
                if p.is_gatehouse:
                    self.say(f"gatehouse: failed to start: {e}", error=True)
                    self.failed = True
                    continue
                raise
            self.proxies.append(p)
        return self

    def check_pinning(self):
        """Messages for any process not pinned where the layout says."""
        bad = []
        servers = [(self.upstream, self.ctx.load_cpu)] + [(p, self.ctx.proxy_cpu)
                                                          for p in self.proxies]
        for s, cpu in servers:
            if not s or not s.proc:
                continue
            for pid, cpus in s.proc.affinity().items():
                if cpus != [cpu]:
                    bad.append(f"{s.name} thread {pid} may run on CPUs {cpus}, expected [{cpu}]")
        return bad

    def describe(self):
        out = {}
        for s in [self.upstream] + self.proxies:
            if s and s.proc:
                out[s.name] = {"version": s.version(), "port": s.port, "cpu": s.cpu,
                               "threads": sorted(s.proc.affinity()), "config_dir": s.dir}
        return out

    def log_problems(self):
        return {s.name: s.problems_in_logs() for s in [self.upstream] + self.proxies if s}

    def stop(self):
        for s in reversed(self.proxies):
            s.stop()
        if self.upstream:
            self.upstream.stop()


def default_proxies(ctx, up_port):
    return [
        srv.NginxProxy(ctx, ctx.port(81), ctx.proxy_cpu, up_port),
        srv.HAProxy(ctx, ctx.port(82), ctx.proxy_cpu, up_port),
        srv.Gatehouse(ctx, ctx.port(80), ctx.proxy_cpu, up_port, ctx.port(90), ctx.gatehouse),
    ]
